// Package metricsauth guards the controller's and the speakers' /metrics:
// served over HTTPS, a request must carry a bearer token that the API
// server knows (TokenReview) and whose user may GET the path
// (SubjectAccessReview on the non-resource URL), as kube-rbac-proxy and
// controller-runtime's metrics filters do. Prometheus, given a
// ServiceAccount bound to the ClusterRole that allows GET on /metrics,
// scrapes; anyone else on the network gets 401 or 403.
//
// Answers are cached for a short time (CacheTTL), so a scrape every few
// seconds costs the API server two requests per scraper and TTL, not per
// scrape. The serving certificate comes from files (cert-manager or any
// other issuer; reloaded when they change) or, without files, is a
// self-signed one made at start: the traffic is encrypted, and scrapers
// that do not know the certificate skip its verification, as they do for
// the kubelet's and the control plane's own metrics.
//
// Reviewer is the seam to the API server: REST talks to it without
// client-go's clientset, which the speaker must not link (see package
// kube).
package metricsauth
