#!/usr/bin/env node
// Plain JS launcher so `npx lbplane-agent` works without a build step: register tsx's ESM loader,
// then load the TypeScript entry point.
import { register } from "tsx/esm/api";

register();
await import("../src/dataplane/main.ts");
