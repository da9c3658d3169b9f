# One image with both of Pylon's binaries: /controller and /speaker.
#
# Build: docker build -t ghcr.io/pylonlb/pylon:dev .   (or: make image)
# The bases are build arguments: the defaults are the public images; the
# lab builds offline equivalents (hack/images.sh) and passes
#   --build-arg BUILDER_IMAGE=... --build-arg BASE_IMAGE=...
# Binaries for another architecture without an image:
#   docker build --platform linux/arm64 --target binaries -o type=local,dest=out .
# (no "# syntax=" line: the builder built into the engine is enough, and an
# offline machine cannot fetch a frontend image)
ARG BUILDER_IMAGE=golang:1.26
ARG BASE_IMAGE=gcr.io/distroless/static-debian12:nonroot

FROM --platform=$BUILDPLATFORM ${BUILDER_IMAGE} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY api/ api/
COPY internal/ internal/
COPY controller/ controller/
COPY speaker/ speaker/
ARG TARGETOS=linux TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -buildvcs=false -ldflags="-s -w" -o /out/ ./controller ./speaker

# The binaries alone (docker build --target binaries -o type=local,dest=DIR).
FROM scratch AS binaries
COPY --from=build /out/controller /out/speaker /

# Static binaries need no libc: distroless static, running as the nonroot
# user (65532). The speaker's DaemonSet overrides this to uid 0 with only
# NET_RAW (see config/speaker/daemonset.yaml).
FROM ${BASE_IMAGE}
COPY --from=build /out/controller /out/speaker /
USER 65532:65532
ENTRYPOINT ["/controller"]
