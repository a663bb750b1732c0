// The mlsizes site's script: the explorer (a Vega-Lite chart of the records with its axis pickers and filters,
// the state kept in the URL) and the records table (filtered by the same state, sorted by a click on a heading,
// again to reverse). The charting library is vendored (assets/vendor/), so the site works offline.
// The release menu in the header switches the whole site to a release, kept in the URL (?release=): the index
// draws and lists that release's records (data/<version>.js) and shows its validation, gap answer, card and
// figures, a record page shows that release's values, and every link carries the release on.
"use strict";

(function () {
  const root = document.body.dataset.root || "";
  const dataNode = document.getElementById("explorer-data");
  let data = dataNode ? JSON.parse(dataNode.textContent) : null;
  const table = document.getElementById("records");
  const search = document.getElementById("search");
  const count = document.getElementById("count");
  const chart = document.getElementById("chart");
  const form = document.getElementById("filters");
  // The state's keys, as in the URL, and the form control holding each.
  const CONTROLS = { x: "x", y: "y", domain: "domain", org: "org", from: "from", to: "to", confidence: "confidence", q: "search" };
  const DEFAULTS = { x: "publication_date", y: "parameters" };

  function control(key) {
    return document.getElementById(CONTROLS[key]);
  }

  function urlParams() {
    let query = window.location.search.slice(1);
    if (!query && window.location.hash.includes("=")) {
      query = window.location.hash.slice(1); // file:// pages that refused history.replaceState
    }
    return new URLSearchParams(query);
  }

  // The release the site shows: one the menu offers and not the current one (which needs no parameter), or "".
  const site = window.mlsizesSite || { versions: [], dates: {}, current: "" };
  const asked = urlParams().get("release");
  const release = asked && asked !== site.current && site.versions.includes(asked) ? asked : "";

  function readState() {
    const params = urlParams();
    const state = {};
    for (const key of Object.keys(CONTROLS)) {
      state[key] = params.get(key) || DEFAULTS[key] || "";
    }
    if (data) {
      if (!(state.x in data.measures)) state.x = DEFAULTS.x;
      if (!(state.y in data.measures) || state.y === "publication_date") state.y = DEFAULTS.y;
    }
    return state;
  }

  function formState() {
    const state = {};
    for (const key of Object.keys(CONTROLS)) {
      const element = control(key);
      state[key] = element ? element.value.trim() : DEFAULTS[key] || "";
    }
    return state;
  }

  function query(state) {
    const params = new URLSearchParams();
    for (const key of Object.keys(CONTROLS)) {
      if (state[key] && state[key] !== (DEFAULTS[key] || "")) params.set(key, state[key]);
    }
    if (release) params.set("release", release);
    return params.toString();
  }

  function writeURL(state) {
    const text = query(state);
    const link = document.getElementById("permalink");
    if (link) link.setAttribute("href", "index.html" + (text ? "?" + text : "") + "#explore");
    const url = window.location.pathname + (text ? "?" + text : "") + window.location.hash.replace(/^#.*=.*$/, "");
    try {
      window.history.replaceState(null, "", url);
    } catch (error) {
      window.location.hash = text; // some browsers refuse replaceState on file:// pages
    }
  }

  // One rule for the chart and the table: every filter must hold.
  function matcher(state) {
    const words = state.q.toLowerCase().split(/\s+/).filter(Boolean);
    const org = state.org.toLowerCase();
    return (record) =>
      (!state.domain || record.domains.includes(state.domain)) &&
      (!org || record.organization.toLowerCase().includes(org)) &&
      (!state.from || record.publication_date >= state.from) &&
      (!state.to || record.publication_date <= state.to) &&
      (!state.confidence || record.confidence === state.confidence) &&
      words.every((word) => record.search.includes(word));
  }

  // --- the records table ---------------------------------------------------------------------------------

  let rows = table ? Array.from(table.tBodies[0].rows) : [];

  function filterRows(state) {
    let shown = 0;
    if (data) {
      const keep = new Set(data.records.filter(matcher(state)).map((record) => record.id));
      for (const row of rows) {
        row.hidden = !keep.has(row.dataset.id);
        shown += row.hidden ? 0 : 1;
      }
    } else {
      const words = state.q.toLowerCase().split(/\s+/).filter(Boolean);
      for (const row of rows) {
        row.hidden = !words.every((word) => row.dataset.search.includes(word));
        shown += row.hidden ? 0 : 1;
      }
    }
    if (count) {
      count.textContent = shown === rows.length ? `${rows.length} records` : `${shown} of ${rows.length} records`;
    }
  }

  function value(row, column) {
    const cell = row.cells[column];
    return cell.dataset.sort === undefined ? cell.textContent.trim() : cell.dataset.sort;
  }

  // Empty cells go last in either direction; ties keep the table's own order (sort is stable).
  function sortBy(column, numeric, ascending) {
    const direction = ascending ? 1 : -1;
    const compare = numeric
      ? (a, b) => parseFloat(a) - parseFloat(b)
      : (a, b) => a.localeCompare(b, "en", { numeric: true, sensitivity: "base" });
    const sorted = rows.slice().sort((x, y) => {
      const a = value(x, column);
      const b = value(y, column);
      if (a === "" || b === "") {
        return (a === "") - (b === "");
      }
      return direction * compare(a, b);
    });
    table.tBodies[0].append(...sorted);
  }

  if (table) {
    const headers = Array.from(table.tHead.rows[0].cells);
    headers.forEach((header, column) => {
      header.querySelector("button").addEventListener("click", () => {
        const ascending = header.getAttribute("aria-sort") !== "ascending";
        headers.forEach((other) => other.removeAttribute("aria-sort"));
        header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        sortBy(column, header.dataset.type === "number", ascending);
      });
    });
  }

  // --- the chart -----------------------------------------------------------------------------------------

  // A log axis labelled and gridded at whole powers of ten only, over the values it must show.
  function decades(values) {
    const logs = values.filter((v) => v > 0).map((v) => Math.log10(v));
    if (!logs.length) return undefined;
    const low = Math.floor(Math.min(...logs));
    const high = Math.ceil(Math.max(...logs));
    const step = Math.max(1, Math.ceil((high - low) / 14));
    const ticks = [];
    for (let power = low; power <= high; power += step) ticks.push(Number(`1e${power}`));
    return ticks;
  }

  function axis(column, title, values, state) {
    if (column === "publication_date") {
      const encoding = { field: column, type: "temporal", title: title, axis: { labelOverlap: true } };
      if (state.from || state.to) {
        const dates = values.filter(Boolean).sort();
        encoding.scale = { domain: [state.from || dates[0], state.to || dates[dates.length - 1]] };
      }
      return encoding;
    }
    const ticks = decades(values);
    return {
      field: column,
      type: "quantitative",
      title: title,
      scale: ticks ? { type: "log", domain: [ticks[0], ticks[ticks.length - 1]] } : { type: "log" },
      axis: { values: ticks, labelExpr: "replace(format(datum.value, '.0e'), 'e+', 'e')" },
    };
  }

  function spec(records, state) {
    const trends = trendGroup(state);
    const withTrends = trends && state.x === "publication_date" && state.y === "parameters" && trends.lines.length;
    const shown = (column) => {
      const values = records.map((record) => record[column]);
      const fits = withTrends && !state.from && !state.to ? trends.lines.map((line) => line.parameters) : [];
      if (column === "parameters") values.push(...data.gap, ...fits);
      return values;
    };
    const x = axis(state.x, data.measures[state.x], shown(state.x), state);
    const y = axis(state.y, data.measures[state.y], shown(state.y), state);
    const layers = [];
    for (const [channel, column] of [["y", state.y], ["x", state.x]]) {
      if (column === "parameters") {
        const band = {};
        band[channel] = { field: "lower", type: "quantitative", scale: { type: "log" } };
        band[channel + "2"] = { field: "upper" };
        layers.push({
          data: { values: [{ lower: data.gap[0], upper: data.gap[1] }] },
          mark: { type: "rect", color: "#e3b505", opacity: 0.3, tooltip: data.gap_label },
          encoding: band,
        });
      }
    }
    layers.push({
      name: "points",
      data: { values: records },
      mark: { type: "point", filled: true, size: 36, opacity: 0.75, cursor: "pointer" },
      encoding: {
        x: x,
        y: y,
        color: {
          field: data.colour || "domain",
          type: "nominal",
          title: data.colour_title || "Primary domain",
          scale: data.colour_scale || { domain: data.domains, scheme: "tableau20" },
          legend: { orient: "bottom", columns: narrow() ? 2 : 3, symbolLimit: 0 },
        },
        shape: {
          field: "scale",
          type: "nominal",
          title: null,
          scale: { domain: ["other", "large-scale"], range: ["circle", "diamond"] },
          legend: { orient: "bottom", labelExpr: `datum.label === 'other' ? 'other systems' : '${data.large_label}'` },
        },
        tooltip: [
          { field: "name", title: "Name" },
          { field: "organization", title: "Organization" },
          { field: "domain", title: "Primary domain" },
          { field: "date_text", title: "Published" },
          { field: "parameters_text", title: "Parameters" },
          { field: "compute_text", title: "Training compute (FLOP)" },
        ]
          .concat(
            // an axis's other measure (dataset size, cost, time, chips), as 1.2M
            [state.x, state.y]
              .filter((column) => !["publication_date", "parameters", "training_compute_flop"].includes(column))
              .map((column) => ({ field: column, title: data.measures[column], format: ".3~s" })),
          )
          .concat(data.colour ? [{ field: data.colour, title: data.colour_title }] : []),
      },
    });
    if (withTrends) {
      layers.push({
        data: { values: trends.lines },
        mark: { type: "line", strokeWidth: 2.5, clip: true },
        encoding: {
          x: { field: "publication_date", type: "temporal" },
          y: { field: "parameters", type: "quantitative", scale: { type: "log" } },
          color: {
            field: "trend",
            type: "nominal",
            title: "Trends (metrics/trends.json)",
            scale: { range: ["#000000", "#8250df", "#0969da", "#9a6700"] },
            legend: { orient: "bottom", columns: 1 },
          },
        },
      });
    }
    return {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      width: "container",
      height: Math.max(260, Math.min(460, Math.round(chart.clientWidth * 0.6))),
      autosize: { type: "fit-x", contains: "padding" },
      layer: layers,
      resolve: { scale: { color: "independent" } },
      config: { legend: { labelLimit: 320 } },
    };
  }

  function trendGroup(state) {
    if (!data.trends) return null;
    const group = (state.domain && data.groups[state.domain]) || "all";
    return data.trends[group] ? Object.assign({ name: group }, data.trends[group]) : null;
  }

  function showReadout(state) {
    const list = document.getElementById("readout");
    if (!list) return;
    const trends = trendGroup(state);
    list.replaceChildren();
    if (!trends) return;
    const lead = document.createElement("li");
    lead.textContent =
      `Trends of ${trends.name === "all" ? "every domain" : trends.name} (metrics/trends.json)` +
      (state.x === "publication_date" && state.y === "parameters" ? ":" : "; drawn on parameters against date:");
    list.append(lead);
    for (const line of trends.readout) {
      const item = document.createElement("li");
      item.textContent = line;
      list.append(item);
    }
  }

  // On a narrow screen the legends go one under the other (Vega's legend layout), so none is cut off.
  function narrow() {
    return chart.clientWidth < 600;
  }

  function stackLegends(vegaSpec) {
    vegaSpec.config = vegaSpec.config || {};
    vegaSpec.config.legend = Object.assign({}, vegaSpec.config.legend, {
      layout: { bottom: { anchor: "start", direction: "vertical", margin: 8 } },
    });
    return vegaSpec;
  }

  let view = null;
  let requested = 0;
  let pending = 0;

  function draw(state) {
    const records = data.records.filter(matcher(state));
    const drawn = records.filter(
      (record) => [state.x, state.y].every((column) => column === "publication_date" || record[column] > 0),
    );
    const label = document.getElementById("chart-count");
    if (label) {
      const chosen = data.colour
        ? `${records.length} records of both releases`
        : `${records.length} of ${data.records.length} records match`;
      label.textContent = `${chosen}; ${drawn.length} drawn (${data.measures[state.y]} and ${data.measures[state.x]} both known).`;
    }
    chart.dataset.marks = String(drawn.length);
    delete chart.dataset.ready;
    const ticket = ++requested;
    if (view) {
      view.finalize();
      view = null;
    }
    window
      .vegaEmbed(chart, spec(drawn, state), {
        actions: false,
        renderer: "svg",
        tooltip: { theme: "light" },
        patch: narrow() ? stackLegends : undefined,
      })
      .then((result) => {
        if (ticket !== requested) {
          result.finalize();
          return;
        }
        view = result;
        result.view.addEventListener("click", (event, item) => {
          const datum = item && item.datum;
          if (datum && datum.id && datum.page !== false && item.mark && item.mark.name === "points_marks") {
            window.location.href = withRelease(`${root}records/${encodeURIComponent(item.datum.id)}.html`);
          }
        });
        chart.dataset.ready = "1";
      })
      .catch((error) => {
        chart.textContent = `The chart could not be drawn: ${error.message}`;
        console.error(error);
      });
  }

  // --- the release the site shows ----------------------------------------------------------------------

  // A link within the site, carrying the release on (a link to a file that is no page stays as it is).
  function withRelease(href) {
    if (!release || /^[a-z][a-z0-9+.-]*:/i.test(href) || href.startsWith("#")) return href;
    const [path, hash] = href.split("#");
    const [file, search] = path.split("?");
    if (!file.endsWith(".html")) return href;
    const params = new URLSearchParams(search || "");
    params.set("release", release);
    return `${file}?${params}` + (hash === undefined ? "" : `#${hash}`);
  }

  function carryRelease() {
    for (const link of document.querySelectorAll("a[href]")) {
      link.setAttribute("href", withRelease(link.getAttribute("href")));
    }
  }

  // The menu: choosing a release reloads the page in it (a release page opens that release's page), the
  // filters kept.
  function releaseMenu() {
    const nav = document.querySelector("header nav");
    if (!nav || !site.versions.length) return;
    const label = document.createElement("label");
    label.className = "selector";
    label.append("Release ");
    const menu = document.createElement("select");
    menu.id = "release";
    for (const version of site.versions) {
      menu.append(new Option(version === site.current ? `${version} (current)` : version, version));
    }
    menu.value = release || site.current;
    menu.addEventListener("change", () => {
      const params = urlParams();
      if (menu.value === site.current) params.delete("release");
      else params.set("release", menu.value);
      const text = params.toString();
      const here = document.body.dataset.release ? `${menu.value}.html` : window.location.pathname.split("/").pop();
      window.location.href = (here || "index.html") + (text ? `?${text}` : "");
    });
    label.append(menu);
    nav.append(label);
  }

  // A release's explorer data comes as a script calling mlsizesRelease (fetch() would not work from file://).
  function loadRelease(version, then) {
    const script = document.createElement("script");
    window.mlsizesRelease = then;
    script.src = `${root}data/${version}.js`;
    script.addEventListener("error", () => console.error(`release ${version}: ${script.src} did not load`));
    document.body.append(script);
  }

  function note(parts) {
    const element = document.getElementById("release-note");
    if (!element) return;
    element.replaceChildren(...parts);
    element.hidden = false;
  }

  function pageLink(href, text) {
    const link = document.createElement("a");
    link.href = href;
    link.textContent = text;
    return link;
  }

  // The index in another release: its records in the chart and the table, its domains and confidences in the
  // filters, and a note on what stays the current release's.
  function showRelease() {
    const heading = document.querySelector("main h1");
    if (heading) heading.textContent = `mlsizes dataset ${release}`;
    const date = site.dates[release] ? ` (${site.dates[release]})` : "";
    const sized = data.records.filter((record) => record.parameters > 0).length;
    const summary = document.getElementById("summary");
    if (summary) {
      summary.replaceChildren(
        `${data.records.length} notable machine-learning systems in release ${release}, ${sized} with a parameter ` +
          "count. ",
        pageLink("#all-records", "Jump to the records"),
        ".",
      );
    }
    const files = document.getElementById("downloads-line");
    if (files) {
      files.replaceChildren(
        "Download: ",
        pageLink(`downloads.html?release=${release}#files-${release}`, `the files of release ${release}`),
        " with their sha256 sums.",
      );
    }
    // Its validation verdict, gap answer, card and figures, as git holds them at the release (written by the
    // site from the same escaped HTML as the page's own).
    for (const [id, html] of Object.entries(data.sections || {})) {
      const box = document.getElementById(id);
      if (box) box.innerHTML = html;
    }
    note([
      `Release ${release}${date}: the chart and the table show its ${data.records.length} records; the ` +
        "validation, the gap answer, the card and the figures below are its own, as git holds them at the " +
        "release. What changed from the release before is on ",
      pageLink(`${root}releases/${release}.html?release=${release}`, "its page"),
      ". ",
      pageLink(window.location.pathname.split("/").pop() || "index.html", `Back to ${site.current}`),
      ".",
    ]);
    options("domain", data.domains);
    options("confidence", Array.from(new Set(data.records.map((record) => record.confidence).filter(Boolean))).sort());
    const names = document.getElementById("organizations");
    if (names) {
      const organizations = new Set(data.records.map((record) => record.organization).filter(Boolean));
      names.replaceChildren(...Array.from(organizations).sort().map((name) => new Option("", name)));
    }
    if (table) {
      rows = data.records.map(recordRow);
      table.tBodies[0].replaceChildren(...rows);
    }
  }

  function options(id, values) {
    const menu = document.getElementById(id);
    if (!menu) return;
    menu.replaceChildren(menu.options[0], ...values.map((value) => new Option(value, value)));
  }

  function cell(text, sort, className) {
    const element = document.createElement("td");
    element.textContent = text || "";
    if (sort !== undefined) element.dataset.sort = sort === null ? "" : String(sort);
    if (className) element.className = className;
    return element;
  }

  // A row as the site writes it (stages/site.py, record_cell): the name links the record's page.
  function recordRow(record) {
    const row = document.createElement("tr");
    row.dataset.id = record.id;
    row.dataset.search = record.search;
    const name = cell("");
    name.append(pageLink(withRelease(`records/${encodeURIComponent(record.id)}.html`), record.name));
    row.append(
      name,
      cell(record.organization.replaceAll(",", ", "), undefined, "wrap"),
      cell(record.domains.join(", ")),
      cell(record.date_text, record.publication_date),
      cell(record.parameters_text, record.parameters, "number"),
      cell(record.compute_text, record.training_compute_flop, "number"),
    );
    return row;
  }

  // A record page in another release: that release's values in the fields, its row in the history marked.
  function showRecordRelease() {
    const node = document.getElementById("record-releases");
    if (!node || !release) return;
    const values = JSON.parse(node.textContent);
    if (!(release in values)) return;
    const changed = values[release];
    if (changed === null) {
      note([`Release ${release} does not hold this record; the fields below are as the page shows it otherwise.`]);
    } else {
      for (const [field, text] of Object.entries(changed)) {
        const value = document.querySelector(`#fields dd[data-field="${CSS.escape(field)}"]`);
        if (value) {
          value.textContent = text;
          value.classList.add("changed");
        }
      }
      const fields = Object.keys(changed);
      note([
        `Release ${release}: the fields below are as it had them` +
          (fields.length ? ` (${fields.join(", ")} differ from the newest values).` : " (the same values)."),
      ]);
    }
    for (const row of document.querySelectorAll("#history tbody tr")) {
      if (row.cells[0].textContent.trim() === release) row.setAttribute("aria-current", "true");
    }
  }

  // The downloads page in another release: where that release's files are.
  function showReleaseFiles() {
    const heading = document.getElementById(`files-${release}`);
    if (!release || !heading) return;
    note([`Release ${release}: its files are `, pageLink(`#files-${release}`, `under "Release ${release}"`), "."]);
  }

  // --- wiring --------------------------------------------------------------------------------------------

  function apply(fromForm) {
    const state = fromForm ? formState() : readState();
    if (!fromForm) {
      for (const key of Object.keys(CONTROLS)) {
        const element = control(key);
        if (element) element.value = state[key];
      }
    }
    filterRows(state);
    if (data && chart) {
      if (form) writeURL(state);
      showReadout(state);
      // The chart is redrawn once typing pauses; until then it is not ready (tests wait for data-ready).
      delete chart.dataset.ready;
      window.clearTimeout(pending);
      pending = window.setTimeout(() => draw(state), fromForm ? 150 : 0);
    }
  }

  releaseMenu();
  carryRelease();
  showRecordRelease();
  showReleaseFiles();
  if (form) {
    form.addEventListener("input", () => apply(true));
    form.addEventListener("submit", (event) => event.preventDefault());
  } else if (search) {
    search.addEventListener("input", () => filterRows(formState()));
  }
  if (release && form && data) {
    loadRelease(release, (released) => {
      data = released;
      showRelease();
      apply(false);
    });
  } else {
    apply(false);
  }
})();
