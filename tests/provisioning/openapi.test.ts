import { join } from 'node:path';
import type { Express } from 'express';
import { openApiPath } from '../../provisioning/http/openapi';
import { readJson, startTestService, tempDir, type TestService } from '../support/service';

interface RouterLayer {
  route?: { path: string; methods: Record<string, boolean> };
}

/** Every method+path Express really serves, read from its router rather than from our route list. */
function servedRoutes(app: Express): string[] {
  const stack = (app as unknown as { router: { stack: RouterLayer[] } }).router.stack;
  return stack
    .filter((layer) => layer.route)
    .flatMap((layer) =>
      Object.keys(layer.route!.methods)
        .filter((method) => method !== '_all')
        .map((method) => `${method} ${openApiPath(layer.route!.path)}`),
    )
    .sort();
}

describe('the OpenAPI document', () => {
  const dir = tempDir();
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService(join(dir.path, 'openapi.sqlite'));
  });
  afterAll(async () => {
    await service.stop();
    dir.cleanup();
  });

  it('describes exactly the routes the app serves', async () => {
    const document = await readJson(await service.request('/api/v1/openapi.json'));
    expect(document.openapi).toMatch(/^3\./);
    const documented = Object.entries(document.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method} ${path}`))
      .sort();
    expect(documented).toEqual([...servedRoutes(service.http.express), ...service.http.publicServed].sort());
    expect(documented).toEqual(expect.arrayContaining(['get /conferenceMapper', 'post /api/v1/rooms/{room}/pins', 'delete /api/v1/calls/{id}']));
  });

  it('marks admin routes as needing the bearer token with their scope', async () => {
    const document = await readJson(await service.request('/api/v1/openapi.json'));
    expect(document.paths['/api/v1/rooms/{room}'].put.security).toEqual([{ bearer: ['dialin:admin'] }]);
    expect(document.paths['/api/v1/rooms'].get.security).toEqual([{ bearer: ['dialin:read'] }]);
    expect(document.paths['/healthz'].get.security).toBeUndefined();
    expect(document.paths['/api/v1/rooms/{room}/pins'].post.requestBody.content['application/json'].schema.properties).toHaveProperty('validUntil');
  });
});
