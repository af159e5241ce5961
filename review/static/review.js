// Keyboard-first review of one certificate.  Tab / Shift-Tab: next / previous field to
// review; Enter: confirm it; e: edit its value (Enter in the box saves it as corrected,
// Escape leaves it); n: next certificate; z: zoom on or off.  Choosing a field shows its box
// on the page, zoomed in around it.
(function () {
  const rows = Array.from(document.querySelectorAll("tr.field"));
  const toReview = rows.filter((r) => r.classList.contains("status-needs_review"));
  let current = null;

  function select(row) {
    if (!row) return;
    document.querySelectorAll(".current").forEach((el) => el.classList.remove("current"));
    current = row;
    row.classList.add("current");
    row.focus({ preventScroll: true });
    row.scrollIntoView({ block: "nearest" });
    const box = document.getElementById("box-" + row.dataset.path);
    document.querySelectorAll(".page.zoomed").forEach((p) => p.classList.remove("zoomed"));
    if (box) {
      box.classList.add("current");
      zoomTo(box);
    }
  }

  // The page is magnified around the box, which stays where it was: the reviewer's eye
  // does not have to look for it.
  function zoomTo(box) {
    const page = box.closest(".page");
    const x = box.offsetLeft + box.offsetWidth / 2;
    const y = box.offsetTop + box.offsetHeight / 2;
    page.style.transformOrigin = x + "px " + y + "px";
    if (zoom) page.classList.add("zoomed");
    box.scrollIntoView({ block: "center", inline: "center" });
  }

  let zoom = true; // z toggles

  function move(step) {
    const list = toReview.length ? toReview : rows;
    const i = list.indexOf(current);
    select(list[(i + step + list.length) % list.length]);
  }

  rows.forEach((r) => r.addEventListener("click", () => select(r)));
  document.querySelectorAll(".box").forEach((b) =>
    b.addEventListener("click", (e) => {
      e.preventDefault();
      select(document.getElementById("f-" + b.dataset.path));
    }));

  document.addEventListener("keydown", (e) => {
    if (e.target.tagName === "INPUT") {
      if (e.key === "Escape") { e.target.blur(); if (current) current.focus(); }
      return; // Enter in the value box submits its form: "Correct"
    }
    if (e.key === "Tab") { e.preventDefault(); move(e.shiftKey ? -1 : 1); }
    else if (e.key === "Enter" && current) {
      e.preventDefault();
      current.querySelector("button[value=confirm]").click();
    } else if (e.key === "e" && current) {
      e.preventDefault();
      const input = current.querySelector("input[name=value]");
      input.focus();
      input.select();
    } else if (e.key === "z") {
      zoom = !zoom;
      select(current);
    } else if (e.key === "n") {
      const next = document.getElementById("next");
      if (next) window.location = next.href;
    }
  });

  const target = location.hash ? document.getElementById(location.hash.slice(1)) : null;
  select(target && target.classList.contains("field") ? target : toReview[0] || rows[0]);
})();
