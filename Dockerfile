# syntax=docker/dockerfile:1
# One image for the master and the worker agent (the command picks the role):
#   master:  node dist/api/server.js      (the default)
#   worker:  node dist/workers/agent.js
# Build stage: npm ci + npm run build (TypeScript and the prebuilt workflow bundle), then the dev
# dependencies are pruned. Runtime stage: Node 20 on Debian bookworm with Debian's ffmpeg and
# GStreamer, running as the unprivileged `node` user (uid 1000) that the Node image provides.

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
# the lock file first: the npm layer is rebuilt only when dependencies change
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY . .
# Temporal's native bridge ships prebuilt libraries for five platforms (about 28 MB each): keep
# only the one this image runs on
RUN npm run build && npm prune --omit=dev --no-audit --no-fund \
 && find node_modules/@temporalio/core-bridge/releases -mindepth 1 -maxdepth 1 -type d \
      ! -name "$(uname -m)-unknown-linux-gnu" -exec rm -rf {} +

FROM ${NODE_IMAGE} AS runtime
# ffmpeg and gst-launch-1.0 are what the worker runs; util-linux has setpriv (the encoders'
# parent-death signal); ca-certificates lets ffmpeg read https inputs. No recommends: no X, no docs.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ffmpeg \
      gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good \
      gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav \
      util-linux ca-certificates \
 && rm -rf /var/lib/apt/lists/*

# NVIDIA_DRIVER_CAPABILITIES: the NVIDIA container runtime mounts the driver's encode libraries
# (NVENC) only when "video" is asked for; "utility" brings nvidia-smi (detection, power readings)
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    MALLOC_MMAP_THRESHOLD_=131072 \
    MALLOC_TRIM_THRESHOLD_=131072 \
    FFRTMP_DATA_DIR=/var/lib/ffrtmp \
    LOG_FORMAT=json \
    NVIDIA_DRIVER_CAPABILITIES=compute,video,utility

WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# the data folder (media, outputs, hardware cache) belongs to the runtime user; a named volume
# mounted here starts with this ownership
RUN mkdir -p /var/lib/ffrtmp && chown node:node /var/lib/ffrtmp

USER node
# master API, master metrics, worker metrics
EXPOSE 8080 9090 9091
# the master, with its heap caps (lib/master-memory.ts)
CMD ["node", "--max-old-space-size=128", "--max-semi-space-size=2", "dist/api/server.js"]
