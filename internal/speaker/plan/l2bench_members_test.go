package plan

// benchMembers returns speakers on the benchmark's segment, each with two
// interfaces of two subnets (one of them the pool's).
func benchMembers(names []string) []Member {
	var out []Member
	for _, n := range names {
		out = append(out, member(n, "eth0:10.20.0.0/20,fd00:20::/64", "eth1:172.16.0.0/16,fd00:16::/64"))
	}
	return out
}
