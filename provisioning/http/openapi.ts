import { z } from 'zod';
import type { RouteDescription } from './route';

/** Express path syntax to OpenAPI's: /rooms/:room → /rooms/{room}. */
export function openApiPath(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z_]\w*)/g, '{$1}');
}

const errorResponse = { $ref: '#/components/responses/Error' };

function jsonSchema(schema: z.ZodType, io: 'input' | 'output' = 'input') {
  return z.toJSONSchema(schema, { io, unrepresentable: 'any' });
}

function queryParameters(schema: z.ZodType | undefined) {
  if (!schema) return [];
  const described = jsonSchema(schema) as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(described.properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query',
    required: described.required?.includes(name) ?? false,
    schema: property,
  }));
}

function operation(route: RouteDescription) {
  const pathParameters = [...route.path.matchAll(/:([A-Za-z_]\w*)/g)].map((match) => ({
    name: match[1],
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
  const responses: Record<string, unknown> = Object.fromEntries(
    Object.entries(route.responses).map(([status, description]) => [status, { description }]),
  );
  for (const status of ['400', '422', '429']) responses[status] ??= errorResponse;
  if (route.scope) {
    responses['401'] = errorResponse;
    responses['403'] = errorResponse;
  }
  if (route.path.includes(':')) responses['404'] ??= errorResponse;
  if (route.body) {
    responses['413'] = errorResponse;
    responses['415'] = errorResponse;
  }
  return {
    summary: route.summary,
    ...(route.scope ? { security: [{ bearer: [route.scope] }] } : {}),
    parameters: [...pathParameters, ...queryParameters(route.query)],
    ...(route.body
      ? { requestBody: { required: false, content: { 'application/json': { schema: jsonSchema(route.body) } } } }
      : {}),
    responses,
  };
}

/** The OpenAPI 3 document of exactly the routes given. */
export function buildOpenApiDocument(routes: RouteDescription[], version: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = openApiPath(route.path);
    paths[path] = { ...paths[path], [route.method]: operation(route) };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Jitsi dial-in gateway',
      version,
      description: 'Provisioning of dial-in PINs for Jitsi rooms, calls in progress, and the endpoints Jitsi Meet calls.',
    },
    paths,
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'scope "dialin:read" for reads, "dialin:admin" for writes (admin implies read)',
        },
      },
      responses: {
        Error: {
          description: 'An error',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['error'],
                properties: {
                  error: {
                    type: 'object',
                    required: ['code', 'message'],
                    properties: { code: { type: 'string' }, message: { type: 'string' } },
                  },
                },
              },
            },
          },
        },
      },
    },
  };
}
