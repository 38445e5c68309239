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
})();
