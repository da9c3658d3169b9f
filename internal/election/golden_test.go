package election

// goldenRanked pins Ranked output for TestStableValues. The values were
// checked against an independent computation (Python hashlib, SHA-256 over
// node + "\x00" + key). Change them only with a deliberate, documented change
// of the hash input: every node of a cluster must agree on it.
var goldenRanked = map[string][]string{
	"10.0.0.1":     {"node-b", "node-c", "node-a", "node-d"},
	"10.0.0.2":     {"node-b", "node-a", "node-c", "node-d"},
	"192.168.1.10": {"node-c", "node-a", "node-d", "node-b"},
	"2001:db8::1":  {"node-c", "node-d", "node-a", "node-b"},
}
