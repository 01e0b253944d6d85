// A second, independent GEXF reader for the tests: graphology-gexf parses the file the way
// sigma.js-based viewers do. Prints {"nodes": n, "edges": m, "type": ..., "multi": ...} as JSON.
// Usage: node tests/js/read_gexf.mjs FILE.gexf
import {readFileSync} from 'node:fs';
import Graph from 'graphology';
import gexf from 'graphology-gexf';

const text = readFileSync(process.argv[2], 'utf-8');
const graph = gexf.parse(Graph, text);
let labelled = 0;
graph.forEachNode((node, attrs) => { if (attrs.label) labelled += 1; });
process.stdout.write(JSON.stringify({
  nodes: graph.order,
  edges: graph.size,
  type: graph.type,
  multi: graph.multi,
  labelled,
}) + '\n');
