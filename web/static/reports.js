// Operational test progress: poll the run's status and move on when it is stored. No inline script (CSP);
// without JS the page's Refresh link does the same.
"use strict";
(function () {
  const box = document.getElementById("job");
  if (!box) return;
  const bar = document.getElementById("job-progress");
  const count = document.getElementById("job-count");
  const tick = async () => {
    let body;
    try {
      const response = await fetch(box.dataset.status, {credentials: "same-origin", headers: {"Accept": "application/json"}});
      if (!response.ok) { window.location.reload(); return; }
      body = await response.json();
    } catch (e) {
      window.setTimeout(tick, 3000);  // the unit is busy or restarting: try again
      return;
    }
    bar.value = body.done;
    count.textContent = body.done + " of " + body.total;
    if (body.state === "done") { window.location = body.next; return; }
    if (body.state === "failed") { window.location.reload(); return; }
    window.setTimeout(tick, 1000);
  };
  window.setTimeout(tick, 1000);
})();
