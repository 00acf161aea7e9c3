# DAPANDA app image: the same build that runs on VMs and EC2. Multi-stage: build with dev
# dependencies, ship compiled JS with production dependencies only, as an unprivileged user.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
# Metrics listen on the container's own interface so a scraper on the container network reaches them;
# publish 9464 only on a private network (the app's default outside a container is 127.0.0.1).
ENV NODE_ENV=production PORT=3000 METRICS_PORT=9464 METRICS_HOST=0.0.0.0 STORAGE_DIR=/data/photos TRUST_PROXY=true
WORKDIR /app
RUN groupadd --system dapanda && useradd --system --gid dapanda --home /app dapanda && mkdir -p /data/photos && chown dapanda /data/photos
COPY --from=build --chown=root:root /app/dist ./dist
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/views ./views
COPY --from=build --chown=root:root /app/public ./public
COPY --from=build --chown=root:root /app/prisma ./prisma
COPY --from=build --chown=root:root /app/package.json ./
USER dapanda
EXPOSE 3000 9464
HEALTHCHECK --interval=15s --timeout=3s CMD node -e "fetch('http://127.0.0.1:'+process.env.PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# Migrations run once per release, before the app: `docker run ... node dist/src/cli/db.js migrate`
CMD ["node", "dist/src/server.js"]
