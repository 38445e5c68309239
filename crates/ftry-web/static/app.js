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

  // A form being sent says so on the button pressed, and a second press
  // while it is on its way sends nothing more. (Coming back to the page
  // from the browser's history makes its forms ready again.)
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.method.toLowerCase() !== "post") {
      return;
    }
    if (form.dataset.sending) {
      event.preventDefault();
      return;
    }
    form.dataset.sending = "yes";
    if (event.submitter) {
      event.submitter.setAttribute("aria-busy", "true");
    }
  });
  window.addEventListener("pageshow", () => {
    document.querySelectorAll("form[data-sending]").forEach((form) => {
      delete form.dataset.sending;
      form.querySelectorAll("[aria-busy]").forEach((button) => button.removeAttribute("aria-busy"));
    });
  });

  // The calendar: a click on a free spot of a staff member's column opens the
  // booking form for them at that quarter hour. (Without the script, each
  // column's "+" opens the form for them.)
  // A drag that just ended is not a click on the column below it.
  let dragged = false;
  document.querySelectorAll(".slots[data-book]").forEach((column) => {
    column.addEventListener("click", (event) => {
      if (dragged || event.target.closest(".item")) {
        dragged = false;
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

  // The booking form: once a service and a date are chosen, the free starts
  // of that day for those services (and the people picked) are offered as
  // buttons that fill in the start; the server checks the booking again.
  const free = document.getElementById("free-times");
  if (free) {
    const form = free.closest("form");
    let asked = 0;
    const offer = () => {
      const services = [];
      const staff = [];
      for (let i = 0; form.elements["service_" + i]; i++) {
        const service = form.elements["service_" + i].value;
        if (service) {
          services.push(service);
          staff.push(form.elements["staff_" + i].value || "any");
        }
      }
      const date = form.elements.date.value;
      if (!services.length || !date) {
        free.hidden = true;
        return;
      }
      const query = new URLSearchParams({ services: services.join(","), staff: staff.join(","), from: date, to: date });
      const mine = ++asked;
      fetch("/api/v1/locations/" + free.dataset.location + "/availability?" + query, { credentials: "same-origin" })
        .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
        .then((answer) => {
          if (mine !== asked) {
            return;
          }
          free.replaceChildren();
          const times = answer.slots.map((slot) => slot.local_start.slice(11, 16));
          const label = document.createElement("p");
          label.textContent = times.length ? "Free that day:" : "No free time that day for these services.";
          free.appendChild(label);
          for (const time of times) {
            const button = document.createElement("button");
            button.type = "button";
            button.className = "time";
            button.textContent = time;
            button.setAttribute("aria-pressed", String(form.elements.time.value === time));
            button.addEventListener("click", () => {
              form.elements.time.value = time;
              free.querySelectorAll("button").forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
            });
            free.appendChild(button);
          }
          free.hidden = false;
        })
        .catch(() => {
          free.hidden = true;
        });
    };
    form.addEventListener("change", (event) => {
      if (/^(service_|staff_)/.test(event.target.name) || event.target.name === "date") {
        offer();
      }
    });
    offer();
  }

  // Dragging a booked service to another time or person moves the visit
  // (with a mouse or a pen; on a touch screen the finger scrolls the day). The drop is sent as the appointment page's move
  // form, so the server checks it as any move: a clash comes back on that
  // page, next to its move form. (Without the script, or from the keyboard,
  // the appointment page's form moves it.)
  function clock(minutes) {
    return String(Math.floor(minutes / 60)).padStart(2, "0") + ":" + String(minutes % 60).padStart(2, "0");
  }

  function columnAt(x, y, skip) {
    const below = document.elementsFromPoint(x, y);
    for (const element of below) {
      if (skip.contains(element)) {
        continue;
      }
      const column = element.closest(".slots[data-staff]");
      if (column) {
        return column;
      }
    }
    return null;
  }

  document.querySelectorAll(".item[data-move]").forEach((item) => {
    item.addEventListener("pointerdown", (event) => {
      if (event.button !== 0) {
        return;
      }
      const start = { x: event.clientX, y: event.clientY };
      const box = item.getBoundingClientRect();
      const grabbed = event.clientY - box.top;
      let moving = false;

      function follow(move) {
        const dx = move.clientX - start.x;
        const dy = move.clientY - start.y;
        if (!moving && Math.abs(dx) + Math.abs(dy) < 6) {
          return;
        }
        if (!moving) {
          moving = true;
          item.classList.add("dragging");
          item.setPointerCapture(event.pointerId);
        }
        move.preventDefault();
        item.style.transform = "translate(" + dx + "px, " + dy + "px)";
      }

      function drop(up) {
        item.removeEventListener("pointermove", follow);
        item.removeEventListener("pointerup", drop);
        item.removeEventListener("pointercancel", cancel);
        if (!moving) {
          return;
        }
        dragged = true;
        setTimeout(() => {
          dragged = false;
        }, 0);
        item.classList.remove("dragging");
        item.style.transform = "";
        const column = columnAt(up.clientX, up.clientY, item);
        if (!column) {
          return;
        }
        const area = column.getBoundingClientRect();
        const rows = Number(column.dataset.rows);
        const top = up.clientY - grabbed - area.top;
        const minutes = Number(column.dataset.first) + Math.round(((top / area.height) * rows * 5) / 15) * 15;
        const form = document.createElement("form");
        form.method = "post";
        form.action = item.dataset.move;
        const fields = {
          csrf: cookie("ftry_csrf"),
          date: column.dataset.date,
          time: clock(Math.max(0, Math.min(minutes, 24 * 60 - 15))),
          item: item.dataset.item,
          staff: column.dataset.staff,
          back: window.location.pathname + window.location.search,
        };
        for (const [name, value] of Object.entries(fields)) {
          const input = document.createElement("input");
          input.type = "hidden";
          input.name = name;
          input.value = value;
          form.appendChild(input);
        }
        document.body.appendChild(form);
        form.submit();
      }

      function cancel() {
        item.removeEventListener("pointermove", follow);
        item.removeEventListener("pointerup", drop);
        item.removeEventListener("pointercancel", cancel);
        item.classList.remove("dragging");
        item.style.transform = "";
      }

      item.addEventListener("pointermove", follow);
      item.addEventListener("pointerup", drop);
      item.addEventListener("pointercancel", cancel);
    });
  });
})();
