#!/usr/bin/env node
'use strict';
const path = require('node:path');
const fs = require('node:fs');

const compiled = path.join(__dirname, '..', 'dist', 'app', 'cli.js');
if (!fs.existsSync(compiled)) {
  process.stderr.write('dialin: the project is not built yet; run "npm run build" first\n');
  process.exit(1);
}
require(compiled).runCli(process.argv.slice(2)).then((code) => { process.exitCode = code; });
