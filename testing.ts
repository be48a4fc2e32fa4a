/**
 * The test harness on its own entry point: `TestClient` sends requests in-process without the
 * lifespan; `TestApp` (from `app.testApp()`) runs the lifespan around them.
 *
 * @example Test an app with its lifespan
 * ```ts
 * import { App } from "@lifespan/hono";
 * import type { TestApp } from "@lifespan/hono/testing";
 *
 * const app = new App().get("/", (c) => c.text("ok"));
 * const testApp: TestApp = await app.testApp();
 * const response = await testApp.testClient().get("/");
 * await testApp.shutdown();
 * ```
 *
 * @module
 */
export {
  type Query,
  TestApp,
  type TestAppOptions,
  TestClient,
  type TestClientOptions,
  type TestRequestInit,
  type TestWebSocketInit,
} from "./src/testing.ts";
export {
  TestWebSocket,
  type TestWebSocketData,
  type TestWebSocketMessage,
} from "./src/test_websocket.ts";
