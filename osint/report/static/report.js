/* The report's interactive graph: cytoscape.js draws the nodes at the positions osint computed
 * (the same layout as `osint graph --export png`); this file only wires up the clicks.
 * Every string from the data goes into the page as text (textContent), never as HTML. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("osint-data").textContent);
  var ui = data.ui;
  var evidence = {};
  data.evidence.forEach(function (row) { evidence[row.id] = row; });

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  function nodeName(d) {
    return d.pinyin && ui.lang === "en" ? d.label + " (" + d.pinyin + ")" : d.label;
  }

  function evidenceLinks(ids) {
    var span = el("span");
    ids.forEach(function (id, i) {
      if (i) span.appendChild(document.createTextNode(", "));
      var a = el("a", "ev" + id, "ev-link");
      a.href = "#ev-" + id;
      var row = evidence[id];
      if (row && row.sha256) {
        a.title = row.source + " " + row.observed_at + " SHA-256 " + row.sha256;
        span.appendChild(a);
        span.appendChild(el("code", " " + row.sha256.slice(0, 12) + "\u2026", "sha"));
      } else {
        span.appendChild(a);
      }
    });
    return span;
  }

  function showNode(node) {
    var d = node.data();
    var panel = document.getElementById("node-info");
    panel.textContent = "";
    panel.appendChild(el("h3", nodeName(d)));
    panel.appendChild(el("p", (ui.kinds[d.kind] || d.kind) + " \u00b7 " + d.id, "node-kind"));
    var attrs = Object.keys(d.attrs);
    if (attrs.length) {
      panel.appendChild(el("h4", ui.attributes));
      var dl = el("dl");
      attrs.forEach(function (k) {
        var v = d.attrs[k];
        dl.appendChild(el("dt", k));
        dl.appendChild(el("dd", Array.isArray(v) ? v.join(", ") : v));
      });
      panel.appendChild(dl);
    }
    var edges = node.connectedEdges();
    panel.appendChild(el("h4", ui.edges + " (" + edges.length + ")"));
    var table = el("table", null, "edges");
    var head = el("tr");
    [ui.relation, ui.other_end, ui.sources, ui.evidence].forEach(function (h) { head.appendChild(el("th", h)); });
    table.appendChild(head);
    edges.forEach(function (edge) {
      var e = edge.data();
      var out = e.source === d.id;
      var other = edge.cy().getElementById(out ? e.target : e.source).data();
      var tr = el("tr", null, e.claim ? "claim" : "");
      var rel = (ui.relations[e.relation] || e.relation);
      tr.appendChild(el("td", out ? rel + " \u2192" : "\u2190 " + rel));
      tr.appendChild(el("td", nodeName(other)));
      tr.appendChild(el("td", e.claim ? ui.claim_edge + (e.case_source ? " (" + e.case_source + ")" : "") : e.sources.join(", ")));
      var td = el("td");
      td.appendChild(evidenceLinks(e.evidence));
      tr.appendChild(td);
      table.appendChild(tr);
    });
    panel.appendChild(table);
  }

  var cy = cytoscape({
    container: document.getElementById("cy"),
    elements: { nodes: data.graph.nodes, edges: data.graph.edges },
    layout: { name: "preset", fit: true, padding: 30 },
    style: [
      { selector: "node", style: {
        "background-color": "data(colour)", "width": "data(size)", "height": "data(size)",
        "label": "data(label)", "font-size": 8, "color": "#333", "text-valign": "bottom", "text-margin-y": 2,
        "min-zoomed-font-size": 6, "text-max-width": 120, "text-wrap": "ellipsis" } },
      { selector: "node[?in_case]", style: { "border-width": 2, "border-color": "#222" } },
      { selector: "edge", style: {
        "width": 1, "line-color": "data(colour)", "target-arrow-color": "data(colour)",
        "target-arrow-shape": "triangle", "arrow-scale": 0.6, "curve-style": "bezier", "opacity": 0.7 } },
      { selector: "edge[?claim]", style: { "line-style": "dashed", "width": 1.5 } },
      { selector: ":selected", style: { "border-width": 4, "border-color": "#000", "line-color": "#000" } }
    ]
  });
  cy.on("tap", "node", function (evt) { showNode(evt.target); });
  document.getElementById("fit").addEventListener("click", function () { cy.fit(undefined, 30); });
  window.osintReport = { cy: cy, showNode: showNode };
})();
