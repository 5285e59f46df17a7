# One image, three roles (SPOKE_ROLE=api|worker|all). Holds dist/ (the compiled src/), the production
# dependencies, actions/ and connections/: no tests, benchmarks, scripts or simulator.
FROM node:24-bookworm-slim AS build
WORKDIR /app
# The simulator is an npm workspace: npm ci needs its package.json to match the lock, not its code.
COPY package.json package-lock.json ./
COPY simulator/package.json ./simulator/package.json
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund && rm -f node_modules/confluence-cloud-simulator

FROM node:24-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 SPOKE_DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY actions ./actions
COPY connections ./connections
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s CMD node -e "fetch('http://127.0.0.1:'+process.env.PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/server.js"]
