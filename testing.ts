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
  TestClient,
  type TestClientOptions,
  type TestRequestInit,
  type TestTarget,
  type TestWebSocketInit,
} from "./src/testing/client.ts";
export { TestApp, type TestAppOptions } from "./src/testing/test_app.ts";
export {
  TestWebSocket,
  type TestWebSocketData,
  type TestWebSocketMessage,
} from "./src/testing/websocket.ts";
