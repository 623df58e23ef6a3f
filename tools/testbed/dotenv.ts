import { existsSync } from 'node:fs';

/**
 * Imported first by the end-to-end suite and the SIP bench: they read ./.env as `npm start`
 * does (variables already set in the environment win), so one file configures all three.
 */
if (existsSync('.env')) process.loadEnvFile('.env');
