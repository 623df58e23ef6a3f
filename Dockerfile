# The gateway service: SIP call control and the HTTP API in one Node.js process.
FROM node:20-bookworm-slim AS build
WORKDIR /src
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# --ignore-scripts: "prepare" would build before the sources are here; better-sqlite3 is built on its own.
RUN npm ci --ignore-scripts --no-audit --no-fund && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY core core
COPY app app
COPY provisioning provisioning
COPY gateway gateway
COPY prompts prompts
RUN npm run build && npm prune --omit=dev

# The prompt renderer, for hosts with Docker only: docker compose --profile tools run --rm prompts
FROM build AS prompts
RUN apt-get update \
 && apt-get install -y --no-install-recommends espeak-ng sox \
 && rm -rf /var/lib/apt/lists/*
CMD ["node", "dist/prompts/generate.js"]

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    DB_PATH=/var/lib/dialin/dialin.sqlite \
    PROMPTS_DIR=/opt/dialin/prompts
WORKDIR /opt/dialin
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/dist dist
COPY package.json ./
COPY bin bin
COPY prompts prompts
# `dialin token …` and `npx dialin …` as the operator guide says them, without TypeScript here.
RUN mkdir -p node_modules/.bin && ln -s ../../bin/dialin.js node_modules/.bin/dialin
ENV PATH=/opt/dialin/node_modules/.bin:$PATH
RUN mkdir -p /var/lib/dialin && chown node:node /var/lib/dialin
USER node
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.HTTP_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# V8's young generation grows to 48 MB under call load; 2 MB semi-spaces halve the RSS per call
# at the same CPU (bench/RESULTS.md). npm start, the e2e suite and bench:sip use the same flags.
CMD ["node", "--max-semi-space-size=2", "dist/app/main.js"]
