// The HTTP server limits from the configuration reach the Node server that composeLbplane builds.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../helpers/app.js";

describe("server timeouts", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({}, { LBPLANE_REQUEST_TIMEOUT_MS: "30000", LBPLANE_HEADERS_TIMEOUT_MS: "4000", LBPLANE_KEEP_ALIVE_TIMEOUT_MS: "65000" });
  });
  afterAll(() => t.close());

  it("a slow client cannot hold a request, its headers or an idle keep-alive socket past the configured limits", () => {
    expect(t.app.server.requestTimeout).toBe(30_000);
    expect(t.app.server.headersTimeout).toBe(4_000);
    expect(t.app.server.keepAliveTimeout).toBe(65_000);
  });
});
