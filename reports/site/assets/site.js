// The records table of the mlsizes site: filtered as you type in the search box (every word must appear in a
// record's name, organization or domains) and sorted by a click on a column header (again to reverse).
// Hand-written, no library: the site must work offline.
"use strict";

(function () {
  const table = document.getElementById("records");
  if (!table) {
    return;
  }
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  const search = document.getElementById("search");
  const count = document.getElementById("count");

  function filter() {
    const words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const row of rows) {
      const text = row.dataset.search;
      const match = words.every((word) => text.includes(word));
      row.hidden = !match;
      shown += match ? 1 : 0;
    }
    count.textContent =
      shown === rows.length ? `${rows.length} records` : `${shown} of ${rows.length} records`;
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
    body.append(...sorted);
  }

  const headers = Array.from(table.tHead.rows[0].cells);
  headers.forEach((header, column) => {
    header.querySelector("button").addEventListener("click", () => {
      const ascending = header.getAttribute("aria-sort") !== "ascending";
      headers.forEach((other) => other.removeAttribute("aria-sort"));
      header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      sortBy(column, header.dataset.type === "number", ascending);
    });
  });
  search.addEventListener("input", filter);
  filter();
})();
