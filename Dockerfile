# syntax=docker/dockerfile:1
# Okno gateway image: build stage compiles TypeScript, runtime stage carries
# only production dependencies and runs as the unprivileged `node` user.

FROM node:24-slim AS build
# pkcs11js (the PKCS#11 signer, GATEWAY_PKCS11_*) is a native addon: node-gyp builds it with
# python3, make and g++ against the image's own Node headers (/usr/local/include/node).
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ \
    && rm -rf /var/lib/apt/lists/*
ENV npm_config_nodedir=/usr/local
WORKDIR /app
COPY package.json package-lock.json ./
# The `okno` command is a workspace (bin/), so npm ci needs its package.json.
COPY bin/package.json bin/package.json
# --ignore-scripts: the prepare script (tsc) needs the sources, copied below.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm rebuild pkcs11js && npm prune --omit=dev --ignore-scripts

FROM node:24-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY config ./config
COPY wsdl ./wsdl
# The sample PKI is in the image for demos only: NODE_ENV=production refuses it
# unless OKNO_ALLOW_SAMPLE_KEYS=true. Mount real keys and point GATEWAY_* and
# TRUST_CA_FILE at them.
COPY certs-sample ./certs-sample
# Pull mode in compose: the exchange simulator's certificate, on a volume the gateway reads
# (docker-compose.yml, profile pull); created here so the volume belongs to `node`.
RUN mkdir -p /app/exchange && chown node:node /app/exchange
# ATTACHMENT_DIR's default: files fetched from the exchange's file store. Mount a volume here
# (shared by every gateway replica) so they outlive the container.
RUN mkdir -p /app/var/attachments && chown node:node /app/var/attachments
USER node
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM (docker stop) triggers the graceful shutdown; keep stop_grace_period
# above SHUTDOWN_TIMEOUT_MS.
STOPSIGNAL SIGTERM
CMD ["node", "dist/main.js"]
