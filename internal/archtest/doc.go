// Package archtest holds repository-wide tests of Pylon's structure: every
// package documents itself, and the import rules of STYLE.md hold (the
// allocator and the election use the standard library only; only one
// package imports each network library; none of those imports Kubernetes).
package archtest
