package v1beta1

// Annotations and labels users put on Services, and the ones Pylon writes.
const (
	// AnnotationPrefix starts every annotation Pylon reads or writes.
	AnnotationPrefix = "pylonlb.io/"
	// AnnotationLoadBalancerIPs requests specific addresses: a comma-separated
	// list with at most one address per family.
	AnnotationLoadBalancerIPs = "pylonlb.io/loadBalancerIPs"
	// AnnotationAddressPool requests addresses from the named pool.
	AnnotationAddressPool = "pylonlb.io/address-pool"
	// AnnotationAllowSharedIP is the sharing key: Services with the same
	// non-empty key, the same backends and no overlapping ports may share
	// an address.
	AnnotationAllowSharedIP = "pylonlb.io/allow-shared-ip"
	// AnnotationAllocatedFromPool is written by the controller: the pool the
	// Service's addresses came from.
	AnnotationAllocatedFromPool = "pylonlb.io/ip-allocated-from-pool"
)

// LabelExcludeFromLB is the well-known Node label that keeps a node from
// announcing any Service address.
const LabelExcludeFromLB = "node.kubernetes.io/exclude-from-external-load-balancers"
