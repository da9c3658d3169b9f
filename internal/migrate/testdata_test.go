package migrate

// metallbConfig is a MetalLB configuration written as MetalLB's
// documentation shows it: every kind, both BGPPeer versions, and fields
// Pylon cannot honour (vrf, BFD echo mode, a minimum TTL).
const metallbConfig = `
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: lan
  namespace: metallb-system
  labels: {zone: a}
spec:
  addresses:
  - 192.168.10.0/24
  - 192.168.9.1-192.168.9.5
  - fc00:f853:ccd:e799::/124
  avoidBuggyIPs: true
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: routed
  namespace: metallb-system
spec:
  addresses: ["10.20.0.5/28"]
  autoAssign: false
  serviceAllocation:
    priority: 50
    namespaces: [web]
    namespaceSelectors:
    - matchLabels: {tier: front}
    serviceSelectors:
    - matchExpressions:
      - {key: app, operator: In, values: [shop]}
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata:
  name: l2
  namespace: metallb-system
spec:
  ipAddressPools: [lan]
  interfaces: [eth1]
  nodeSelectors:
  - matchLabels: {kubernetes.io/hostname: node-a}
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata:
  name: bgp
  namespace: metallb-system
spec:
  ipAddressPoolSelectors:
  - matchLabels: {zone: b}
  ipAddressPools: [routed]
  aggregationLength: 32
  aggregationLengthV6: 128
  localPref: 100
  communities: [65535:65282, no-advertise, "large:1:2:3"]
  peers: [tor-v4]
---
apiVersion: metallb.io/v1beta1
kind: Community
metadata:
  name: communities
  namespace: metallb-system
spec:
  communities:
  - name: no-advertise
    value: 65535:65282
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata:
  name: tor-v4
  namespace: metallb-system
spec:
  myASN: 64500
  peerASN: 64501
  peerAddress: 10.0.0.1
  sourceAddress: 10.0.0.10
  peerPort: 180
  holdTime: 9s
  keepaliveTime: 3s
  connectTime: 2s
  routerID: 10.10.10.10
  bfdProfile: fast
  enableGracefulRestart: true
  dualStackAddressFamily: true
  passwordSecret: {name: tor-pass, namespace: metallb-system}
  nodeSelectors:
  - matchLabels: {rack: r1}
  vrf: red
---
apiVersion: metallb.io/v1beta1
kind: BGPPeer
metadata:
  name: old-peer
  namespace: metallb-system
spec:
  myASN: 64500
  peerASN: 64502
  peerAddress: 10.0.0.2
  holdTime: 0s
  keepaliveTime: 0s
  password: secret
  ebgpMultiHop: true
  nodeSelectors:
  - matchExpressions:
    - {key: rack, operator: In, values: [r2]}
---
apiVersion: metallb.io/v1beta1
kind: BFDProfile
metadata:
  name: fast
  namespace: metallb-system
spec:
  receiveInterval: 100
  transmitInterval: 100
  detectMultiplier: 5
  echoMode: true
  echoInterval: 50
  minimumTtl: 10
`
