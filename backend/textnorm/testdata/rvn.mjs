// Reads integers (one per line) on stdin and prints how the npm package read-vietnamese-number
// reads each one, one line per number, configured to the same word choices as textnorm's
// defaults (tỷ, linh, nghìn, no unit). Used by TestReadCardinalAgreesWithReadVietnameseNumber.
// Usage: node rvn.mjs <path to node_modules/read-vietnamese-number/dist/esm/index.js>
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'

const { ReadingConfig, doReadNumber } = await import(pathToFileURL(process.argv[2]).href)
const config = new ReadingConfig()
config.unit = []
config.units = [[], ['nghìn'], ['triệu'], ['tỷ']]
config.oddText = 'linh'
const lines = readFileSync(0, 'utf8').split('\n').filter((l) => l !== '')
const out = lines.map((n) => doReadNumber(n, config))
process.stdout.write(out.join('\n') + '\n')
