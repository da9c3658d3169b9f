# Pylon's build, test and lab entry points. See README.md.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c

GO        ?= go
BIN       := $(CURDIR)/bin
KUBE_BIN  := $(CURDIR)/.cache/kube/bin
TOOLS_BIN := $(CURDIR)/.cache/tools/bin
# Debian packages the lab and the end-to-end suites need.
LAB_PACKAGES := frr bird2 gobgpd iproute2 iputils-ping iputils-arping curl tcpdump
# ... and what the real cluster needs: the container runtime, CNI plugins,
# kube-proxy's nft, the Docker engine that builds the images, busybox for
# the offline builder image.
CLUSTER_PACKAGES := containerd runc containernetworking-plugins nftables iptables conntrack \
	docker.io busybox-static util-linux ca-certificates
GOTEST    := $(GO) test -race -count=1
FUZZTIME  ?= 10s

.PHONY: all generate build test test-unit test-e2e bench bench-lab lab lab-down cluster cluster-down deps kube-tools tools images manifests fuzz fuzz-long lint clean image

all: build

## generate: regenerate deep-copy code, CRDs, the chart's CRD copies, the all-in-one manifest and
## the containerlab topologies (e2etest/topologies).
generate: tools
	$(GO) tool controller-gen object paths=./api/...
	$(GO) tool controller-gen crd:crdVersions=v1 paths=./api/... output:crd:artifacts:config=config/crd/bases
	$(MAKE) manifests
	$(GO) run ./hack/crddoc
	$(GO) run ./hack/topologies

## manifests: render config/crd/kustomization.yaml, charts/pylon/crds and config/manifests/pylon.yaml.
manifests: tools
	KUSTOMIZE=$(TOOLS_BIN)/kustomize $(GO) run ./hack/manifests

## build: build the controller, the speaker, the kubectl plugin and the lab command into bin/.
build:
	CGO_ENABLED=0 $(GO) build -o $(BIN)/controller ./controller
	CGO_ENABLED=0 $(GO) build -o $(BIN)/speaker ./speaker
	CGO_ENABLED=0 $(GO) build -o $(BIN)/pylon-lab ./e2etest/cmd/pylon-lab
	CGO_ENABLED=0 $(GO) build -o $(BIN)/kubectl-pylon ./kubectl-pylon

## kube-tools: build etcd and the Kubernetes binaries (kube-apiserver, kube-controller-manager,
## kube-scheduler, kubelet, kube-proxy, kubectl) from the Go module proxy (cached).
kube-tools:
	@hack/kube-tools.sh >/dev/null

## tools: build kustomize and helm from the Go module proxy into .cache/tools/bin (cached).
tools:
	@hack/tools.sh >/dev/null

## deps: install the Debian packages the lab and the cluster need (as root, when missing).
deps:
	@hack/install-deps.sh $(LAB_PACKAGES) $(CLUSTER_PACKAGES)

## images: build the cluster's images offline into .cache/images (Pylon's from the Dockerfile, pause,
## backend; arm64 compile check), with a private Docker engine; unchanged inputs are not rebuilt.
images: deps
	@hack/images.sh >/dev/null

## test: every test: unit, integration against a real API server, fuzz seeds, end-to-end in the lab
## and on the real cluster.
test: deps kube-tools tools lint test-unit build images test-e2e

## lint: gofmt, go vet and generated files up to date.
lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) vet -tags e2e ./e2etest/...

## test-unit: unit and integration tests (the API server tests use the binaries from kube-tools).
test-unit: kube-tools tools
	KUBEBUILDER_ASSETS=$(KUBE_BIN) PYLON_BIN=$(BIN) $(GOTEST) ./...

## test-e2e: end-to-end suites in the network-namespace lab and on the real cluster (root). The
## cluster suite runs alone, after the others: its 10 ms client probes through real kubelets and
## kube-proxy time out when a lab suite beside it takes both cores.
test-e2e: build kube-tools tools images
	KUBEBUILDER_ASSETS=$(KUBE_BIN) PYLON_BIN=$(BIN) $(GO) test -count=1 -tags e2e -timeout 40m \
		$$($(GO) list -tags e2e ./e2etest/... | grep -v '/e2etest/clustersuite$$')
	KUBEBUILDER_ASSETS=$(KUBE_BIN) PYLON_BIN=$(BIN) $(GO) test -count=1 -tags e2e -timeout 20m ./e2etest/clustersuite

## fuzz: run every fuzz target for FUZZTIME each.
fuzz:
	@hack/fuzz.sh $(FUZZTIME)

## fuzz-long: run every fuzz target for 10 minutes (hours in all; make test runs the seeds).
fuzz-long:
	@hack/fuzz.sh 10m

## bench: in-process benchmarks, then the lab measurements with a report.
bench: kube-tools
	KUBEBUILDER_ASSETS=$(KUBE_BIN) $(GO) test -run '^$$' -bench . -benchmem ./internal/...
	$(MAKE) bench-lab

## bench-lab: lab measurements (failover, latency, scale), printed as a report and saved in
## e2etest/.runs/bench-TIME.md; BENCH_ARGS passes flags (e.g. BENCH_ARGS="--only controller-latency --trials 5").
bench-lab: deps build kube-tools
	KUBEBUILDER_ASSETS=$(KUBE_BIN) PYLON_BIN=$(BIN) $(BIN)/pylon-lab bench $(BENCH_ARGS)

## lab: the README's "run it": builds what is missing (first run ~10 minutes), brings up a 3-node lab
## with Pylon, a sample configuration and demo Services, prints what they show, and keeps it running
## until Ctrl-C or `make lab-down`.
lab:
	@echo "lab: [1/4] Debian packages the lab needs ($(LAB_PACKAGES)): installed when missing (~1 minute)"
	@$(MAKE) --no-print-directory deps
	@echo "lab: [2/4] kube-apiserver and etcd from the Go module proxy (first run ~10 minutes on 2 cores, then cached in .cache/kube)"
	@$(MAKE) --no-print-directory kube-tools
	@echo "lab: [3/4] building controller, speaker and pylon-lab into bin/ (first run 1-3 minutes)"
	@$(MAKE) --no-print-directory build
	@echo "lab: [4/4] the lab: network namespaces, API server, FRR, Pylon, demo Services (~15 s)"
	@KUBEBUILDER_ASSETS=$(KUBE_BIN) PYLON_BIN=$(BIN) $(BIN)/pylon-lab up --demo $(LAB_ARGS)

## lab-down: stop the lab `make lab` runs (every namespace, bridge, process and file it made) and reap
## what dead labs left; test suites' live labs are left alone (`bin/pylon-lab down` stops those too).
lab-down:
	@if [ -x $(BIN)/pylon-lab ]; then $(BIN)/pylon-lab down --up; else $(GO) run ./e2etest/cmd/pylon-lab down --up; fi

## cluster: a real cluster (control plane + 3 workers with kubelet, containerd, kube-proxy) with Pylon
## installed by its chart, a sample configuration and a demo workload; kept until Ctrl-C or
## `make cluster-down`. First run builds everything (~20 minutes), then ~1 minute.
cluster:
	@echo "cluster: [1/5] Debian packages (lab, container runtime, CNI, nftables, Docker engine): installed when missing"
	@$(MAKE) --no-print-directory deps
	@echo "cluster: [2/5] Kubernetes binaries from the Go module proxy (first run ~15 minutes on 2 cores, then cached in .cache/kube)"
	@$(MAKE) --no-print-directory kube-tools
	@echo "cluster: [3/5] helm and kustomize from the Go module proxy (cached in .cache/tools)"
	@$(MAKE) --no-print-directory tools
	@echo "cluster: [4/5] images: Pylon's from the Dockerfile, pause, backend (first run a few minutes, then cached in .cache/images)"
	@$(MAKE) --no-print-directory build images
	@echo "cluster: [5/5] the cluster, Pylon by helm, the demo"
	@KUBEBUILDER_ASSETS=$(KUBE_BIN) PYLON_BIN=$(BIN) $(BIN)/pylon-lab cluster $(CLUSTER_ARGS)

## cluster-down: stop the cluster `make cluster` runs (and the lab of `make lab`), and reap what dead
## labs left.
cluster-down: lab-down

## image: build Pylon's image ghcr.io/pylonlb/pylon:dev from the Dockerfile (see images).
image: images

clean:
	rm -rf $(BIN)
