# syntax=docker/dockerfile:1
#
# warmgate's container image: one static binary on an empty base, CA
# certificates for the upstreams' TLS, a non-root user, and a health check
# run by the binary itself (there is no shell or curl in the image).
#
#   docker build -t warmgate --build-arg VERSION=v1.2.3 --build-arg COMMIT=$(git rev-parse HEAD) .
#   docker run -p 8080:8080 -v $PWD/warmgate.yaml:/etc/warmgate/warmgate.yaml:ro \
#     -e OPENAI_API_KEY -e TEAM_A_KEY -e WARMGATE_ADMIN_KEY warmgate
#
# The config is a mounted file and names its secrets by environment
# variable (api_key_env, key_env), which `docker run -e` passes in. The
# gateway listens on 0.0.0.0:8080 (WARMGATE_LISTEN), and so refuses to
# start without client keys in the config. The usage ledger is written
# under /data (mount a volume there to keep it).

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X github.com/warmgate/warmgate/internal/buildinfo.version=${VERSION} -X github.com/warmgate/warmgate/internal/buildinfo.commit=${COMMIT}" \
      -o /out/warmgate ./cmd/warmgate \
 && mkdir -p /out/data

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY deploy/container/passwd deploy/container/group /etc/
COPY --from=build --chown=65532:65532 /out/data /data
COPY --from=build /out/warmgate /usr/local/bin/warmgate
USER 65532:65532
WORKDIR /data
ENV WARMGATE_LISTEN=0.0.0.0:8080
EXPOSE 8080
VOLUME ["/data"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 CMD ["/usr/local/bin/warmgate", "health"]
ENTRYPOINT ["/usr/local/bin/warmgate", "serve"]
CMD ["--config", "/etc/warmgate/warmgate.yaml"]
