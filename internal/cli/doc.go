// Package cli is the kubectl plugin (kubectl-pylon): its commands read
// the cluster with the user's kubeconfig and answer with the same pure
// code the controller and the speakers run (model, ipam, election, plan),
// never a re-implementation of it.
//
// Exit status: 0 success (validate: harmless), 1 the answer is bad news
// (validate: something would break; migrate: something was dropped), 2
// invalid input or an error (unknown Service, unreadable file, no cluster).
// Commands write to the cluster only when their help says so.
package cli
