package cluster

import (
	"fmt"
	"strings"
)

// SampleConfig is the Pylon configuration of the cluster's suites and of
// `make cluster`: an L2 pool on the LAN (assigned automatically), a BGP
// pool (on request: annotation pylonlb.io/address-pool: routed) announced
// to FRR on the router over an IPv4 and an IPv6 session from every node,
// with BFD and graceful restart (see StartRouter).
const SampleConfig = `apiVersion: pylonlb.io/v1beta1
kind: IPAddressPool
metadata: {name: lan, namespace: pylon-system}
spec:
  addresses: [192.168.77.128/26, "fd00:77::100/120"]
---
apiVersion: pylonlb.io/v1beta1
kind: L2Advertisement
metadata: {name: lan, namespace: pylon-system}
spec: {ipAddressPools: [lan]}
---
apiVersion: pylonlb.io/v1beta1
kind: IPAddressPool
metadata: {name: routed, namespace: pylon-system}
spec:
  addresses: [198.51.100.0/24, "2001:db8:100::/64"]
  autoAssign: false
---
apiVersion: pylonlb.io/v1beta1
kind: BFDProfile
metadata: {name: fast, namespace: pylon-system}
spec: {receiveInterval: 300, transmitInterval: 300, detectMultiplier: 3}
---
apiVersion: pylonlb.io/v1beta1
kind: BGPPeer
metadata: {name: frr4, namespace: pylon-system}
spec: {myASN: 64501, peerASN: 64500, peerAddress: 192.168.77.254, connectTime: 1s, holdTime: 9s, bfdProfile: fast, enableGracefulRestart: true}
---
apiVersion: pylonlb.io/v1beta1
kind: BGPPeer
metadata: {name: frr6, namespace: pylon-system}
spec: {myASN: 64501, peerASN: 64500, peerAddress: "fd00:77::254", connectTime: 1s, holdTime: 9s, bfdProfile: fast, enableGracefulRestart: true}
---
apiVersion: pylonlb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: routed, namespace: pylon-system}
spec: {ipAddressPools: [routed]}
`

// Backends renders a Deployment of the lab's backend image in namespace
// demo: replicas pods spread over the nodes, each answering "POD NODE",
// ready once it serves.
func Backends(name string, replicas int) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %[1]s, namespace: demo}
spec:
  replicas: %[2]d
  selector: {matchLabels: {app: %[1]s}}
  template:
    metadata: {labels: {app: %[1]s}}
    spec:
      terminationGracePeriodSeconds: 15
      topologySpreadConstraints:
      - {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: ScheduleAnyway, labelSelector: {matchLabels: {app: %[1]s}}}
      containers:
      - name: backend
        image: pylonlab/backend:lab
        imagePullPolicy: Never
        ports: [{containerPort: 8080, name: http}]
        env:
        - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
        - {name: NODE_NAME, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
        readinessProbe: {httpGet: {path: /healthz, port: http}, periodSeconds: 1, failureThreshold: 1}
`, name, replicas)
}

// LoadBalancer renders a dual-stack LoadBalancer Service in namespace
// demo for the Deployment app, from pool, with externalTrafficPolicy Local
// when local is set.
func LoadBalancer(name, app, pool string, local bool) string {
	policy := "Cluster"
	if local {
		policy = "Local"
	}
	return fmt.Sprintf(`apiVersion: v1
kind: Service
metadata:
  name: %s
  namespace: demo
  annotations: {pylonlb.io/address-pool: %s}
spec:
  type: LoadBalancer
  ipFamilyPolicy: RequireDualStack
  ipFamilies: [IPv4, IPv6]
  externalTrafficPolicy: %s
  selector: {app: %s}
  ports: [{port: 80, targetPort: http, name: http}]
`, name, pool, policy, app)
}

// Docs joins YAML documents.
func Docs(ds ...string) string { return strings.Join(ds, "---\n") }

// DemoNamespace is the namespace of the workloads above.
const DemoNamespace = "apiVersion: v1\nkind: Namespace\nmetadata: {name: demo}\n"
