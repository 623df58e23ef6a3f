#!/usr/bin/env node
'use strict';
// Puts `dialin` into node_modules/.bin, where `npx dialin` finds it (npm runs prepare, and so
// this, after `npm install` and `npm ci`). package.json has no "bin" on purpose: with one,
// npx installs this project into its own cache, rebuilds it there with tsc, and keeps running
// that copy, stale after the next change.
const fs = require('node:fs');
const path = require('node:path');

const binDir = path.join(__dirname, '..', 'node_modules', '.bin');
const link = path.join(binDir, 'dialin');
fs.mkdirSync(binDir, { recursive: true });
fs.rmSync(link, { force: true });
fs.symlinkSync(path.join('..', '..', 'bin', 'dialin.js'), link);
