// Package migrate converts MetalLB's configuration objects (API group
// metallb.io: IPAddressPool, L2Advertisement, BGPAdvertisement, BFDProfile,
// Community in v1beta1; BGPPeer in v1beta1 and v1beta2) into the equivalent
// Pylon objects, and reports every MetalLB field that has no Pylon
// equivalent or whose value Pylon cannot honour.
//
// The package is pure: Parse decodes YAML or JSON text into Objects,
// Convert turns Objects into Pylon objects and Findings. It decodes
// MetalLB's objects from plain maps (as unstructured API reads and YAML
// files give them) with its own minimal readers; it does not import
// MetalLB. Field names and meanings follow MetalLB's documented API.
//
// Pylon's names are kept (a Service's address-pool annotations and the
// ip-allocated-from-pool annotation MetalLB wrote keep naming the right
// pool), and the result is checked with model.From, the same validation the
// controller and the admission webhook run: what Pylon would reject is
// reported as a loss too.
package migrate
