# syntax=docker/dockerfile:1
# One image with both of Pylon's binaries: /controller and /speaker.
# Build: make image (docker build -t pylon:dev .)

FROM --platform=$BUILDPLATFORM golang:1.26 AS build
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

# Static binaries need no libc: distroless static, running as the nonroot
# user (65532). The speaker's DaemonSet overrides this to uid 0 with only
# NET_RAW (see config/speaker/daemonset.yaml).
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/controller /out/speaker /
USER 65532:65532
ENTRYPOINT ["/controller"]
