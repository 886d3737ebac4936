// ui/scripts/gen-api.mjs — the TypeScript types of the API, generated from
// gateway/openapi.json (openapi-typescript) into src/api/openapi.gen.ts
// before every typecheck, lint and build; src/api/types.ts names the ones
// the page uses. The file is written only when its text changes, so that
// an unchanged document rebuilds nothing. Not kept in git: the document
// is the one source.
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import openapiTS, { astToString } from 'openapi-typescript'

const ui = join(dirname(fileURLToPath(import.meta.url)), '..')
const src = join(ui, '..', 'gateway', 'openapi.json')
const out = join(ui, 'src', 'api', 'openapi.gen.ts')

const ast = await openapiTS(pathToFileURL(src), { alphabetize: false, exportType: false })
const text = `// Generated from gateway/openapi.json by ui/scripts/gen-api.mjs: do not edit.\n/* eslint-disable */\n${astToString(ast)}`
let old = ''
try {
  old = readFileSync(out, 'utf8')
} catch {
  /* first run */
}
if (old !== text) writeFileSync(out, text)
