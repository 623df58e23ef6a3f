import { defineRoute, type RouteSpec } from '../http/route';
import { newPinBody, pinChangesBody, pinJson, roomParam } from '../http/schemas';
import type { ApiDependencies } from './deps';

export function pinRoutes({ directory, config }: ApiDependencies): RouteSpec[] {
  return [
    defineRoute({
      method: 'post',
      path: '/api/v1/rooms/:room/pins',
      scope: 'dialin:admin',
      summary: 'Create a PIN (generated unless "pin" is given); creates the room if missing',
      body: newPinBody,
      responses: { 201: 'the new PIN' },
      handle: async ({ req, res, body, actor }) => {
        const pin = await directory.createPin(roomParam(req, config.jitsiMucDomain), body, actor);
        res.status(201).json(pinJson(pin));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/rooms/:room/pins',
      scope: 'dialin:read',
      summary: "The room's PINs",
      responses: { 200: 'the PINs' },
      handle: async ({ req, res }) => {
        const pins = await directory.listPins(roomParam(req, config.jitsiMucDomain));
        res.json({ items: pins.map(pinJson) });
      },
    }),
    defineRoute({
      method: 'patch',
      path: '/api/v1/pins/:id',
      scope: 'dialin:admin',
      summary: 'Change label, role or validity of a PIN (null clears)',
      body: pinChangesBody,
      responses: { 200: 'the changed PIN' },
      handle: async ({ req, res, body, actor }) => {
        res.json(pinJson(await directory.updatePin(String(req.params.id), body, actor)));
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/api/v1/pins/:id',
      scope: 'dialin:admin',
      summary: 'Delete a PIN; it stops working at once',
      responses: { 204: 'deleted' },
      handle: async ({ req, res, actor }) => {
        await directory.deletePin(String(req.params.id), actor);
        res.status(204).end();
      },
    }),
  ];
}
