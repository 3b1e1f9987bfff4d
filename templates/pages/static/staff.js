// 批量任务页：live progress from the job's Server-Sent Events. Without it the page still
// shows where the job stood when it was loaded.
(function () {
  "use strict";
  var card = document.getElementById("job");
  if (!card || !window.EventSource) { return; }
  var STATES = { queued: "排队中", running: "进行中", done: "已完成", failed: "失败", cancelled: "已取消" };
  var source = new EventSource(card.getAttribute("data-events"));
  function set(id, text) { var el = document.getElementById(id); if (el) { el.textContent = text; } }
  source.addEventListener("progress", function (event) {
    var job = JSON.parse(event.data);
    var bar = document.getElementById("bar");
    bar.setAttribute("max", job.total || 1);
    bar.setAttribute("value", job.done + job.failed + job.cancelled);
    var state = document.getElementById("state");
    state.textContent = STATES[job.state] || job.state;
    state.setAttribute("data-state", job.state);
    set("done", job.done);
    set("failed", job.failed);
    set("rate", job.rate_per_second ? job.rate_per_second + " 张/秒" : "—");
    set("left", job.seconds_left ? Math.round(job.seconds_left) + " 秒" : "—");
    var list = document.getElementById("failures");
    if (job.failures.length) {
      list.textContent = "";
      job.failures.forEach(function (f) {
        var item = document.createElement("li");
        var code = document.createElement("span");
        code.className = "mono";
        code.textContent = "#" + f.seq + " " + f.item;
        item.appendChild(code);
        item.appendChild(document.createTextNode("：" + f.reason));
        list.appendChild(item);
      });
    }
  });
  source.addEventListener("end", function () {
    source.close();
    var cancel = document.getElementById("cancel-form");
    if (cancel) { cancel.remove(); }
  });
})();
