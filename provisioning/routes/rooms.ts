import { defineRoute, type RouteSpec } from '../http/route';
import { roomBody, roomJson, roomParam, roomSummaryJson, pinJson } from '../http/schemas';
import type { ApiDependencies } from './deps';

export function roomRoutes({ directory, config }: ApiDependencies): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/v1/rooms',
      scope: 'dialin:read',
      summary: 'All rooms with their PIN counts',
      responses: { 200: 'the rooms' },
      handle: async ({ res }) => {
        res.json({ items: (await directory.listRooms()).map(roomSummaryJson) });
      },
    }),
    defineRoute({
      method: 'put',
      path: '/api/v1/rooms/:room',
      scope: 'dialin:admin',
      summary: 'Create a room or change its title/password (omitted fields stay, null clears)',
      body: roomBody,
      responses: { 200: 'updated', 201: 'created' },
      handle: async ({ req, res, body, actor }) => {
        const { room, created } = await directory.putRoom(roomParam(req, config.jitsiMucDomain), body, actor);
        res.status(created ? 201 : 200).json(roomJson(room));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/rooms/:room',
      scope: 'dialin:read',
      summary: 'The room and its PINs (the password is never returned)',
      responses: { 200: 'the room' },
      handle: async ({ req, res }) => {
        const { room, pins } = await directory.getRoom(roomParam(req, config.jitsiMucDomain));
        res.json({ ...roomJson(room), pins: pins.map(pinJson) });
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/api/v1/rooms/:room',
      scope: 'dialin:admin',
      summary: 'Delete the room; its PINs stop working at once',
      responses: { 204: 'deleted' },
      handle: async ({ req, res, actor }) => {
        await directory.deleteRoom(roomParam(req, config.jitsiMucDomain), actor);
        res.status(204).end();
      },
    }),
  ];
}
