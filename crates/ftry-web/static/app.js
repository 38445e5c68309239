// ftry's web app works without this script; it only smooths the edges.
"use strict";

(function () {
  function cookie(name) {
    const found = document.cookie.split("; ").find((pair) => pair.startsWith(name + "="));
    return found ? decodeURIComponent(found.slice(name.length + 1)) : "";
  }

  // On the sign-in page after a session's access cookie ran out: renew it
  // with the refresh cookie and go back to the page, without asking for the
  // password again. When that fails, the form is there.
  const resume = document.querySelector("[data-resume]");
  const csrf = cookie("ftry_csrf");
  if (resume && csrf) {
    fetch("/api/v1/auth/refresh", {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf },
    }).then((response) => {
      if (response.ok) {
        window.location.replace(resume.dataset.resume);
      } else {
        // The session is over: forget it, so the next visit does not ask again.
        document.cookie = "ftry_csrf=; Path=/; Max-Age=0; Secure; SameSite=Strict";
      }
    }).catch(() => {});
  }

  // The calendar: a click on a free spot of a staff member's column opens the
  // booking form for them at that quarter hour. (Without the script, each
  // column's "+" opens the form for them.)
  document.querySelectorAll(".slots[data-book]").forEach((column) => {
    column.addEventListener("click", (event) => {
      if (event.target.closest(".item")) {
        return;
      }
      const box = column.getBoundingClientRect();
      const rows = Number(column.dataset.rows);
      const row = Math.floor(((event.clientY - box.top) / box.height) * rows);
      const minutes = Number(column.dataset.first) + row * 5;
      const quarter = minutes - (minutes % 15);
      const time = String(Math.floor(quarter / 60)).padStart(2, "0") + ":" + String(quarter % 60).padStart(2, "0");
      window.location.href = column.dataset.book + "&time=" + time;
    });
  });
})();
