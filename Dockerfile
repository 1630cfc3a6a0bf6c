# syntax=docker/dockerfile:1
# peregrine container image: one image for the agent, the relay and the console
# (`peregrine agent|relay|console|…`). Build: docker build -t peregrine .
#
# Stage "build" compiles the TypeScript (dist/) and the CO-RE eBPF collector. The collector's
# vmlinux.h is generated from kernel BTF at build time (collector/Makefile); CO-RE relocates the
# programs to the running kernel, so any BTF-enabled build host works. Pass another BTF file with
# --build-arg BTF=/path if the build host's /sys/kernel/btf/vmlinux is not visible.
# Stage "runtime" is Debian slim with Node 20, the shared libraries the collector needs and the
# production node_modules only. It runs as uid 10001; the Helm chart runs the agent as uid 0 with
# four capabilities (see docs/deploy.md).

ARG NODE_VERSION=20

FROM node:${NODE_VERSION}-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev make pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first (exact versions from the lockfile), so code changes reuse this layer.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
COPY collector ./collector
COPY config ./config
COPY rules ./rules
# TypeScript → dist/ and the console web UI → dist/console-web.
RUN npm run build
ARG BTF=/sys/kernel/btf/vmlinux
RUN make -C collector BTF="${BTF}" build/peregrine-collector
# Keep only production dependencies (native modules stay built for this Debian/Node).
RUN npm prune --omit=dev --no-audit --no-fund

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends libbpf1 libelf1 zlib1g ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 peregrine \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin peregrine \
 && mkdir -p /var/lib/peregrine \
 && chown 10001:10001 /var/lib/peregrine
WORKDIR /opt/peregrine
ENV NODE_ENV=production
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/bin ./bin
COPY --from=build /src/config ./config
COPY --from=build /src/rules ./rules
COPY --from=build /src/collector/build/peregrine-collector ./collector/build/peregrine-collector
RUN ln -s /opt/peregrine/bin/peregrine.js /usr/local/bin/peregrine \
 && peregrine --version
USER 10001:10001
# Ports: agent web 8765, audit webhook 9765, relay 2801, console 2802.
EXPOSE 8765 9765 2801 2802
ENTRYPOINT ["peregrine"]
CMD ["--help"]
