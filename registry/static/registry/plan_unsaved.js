/* The Plan button of a change form holding edits not saved: instead of the panel's GET form (which reloads
 * the page and drops them), the change form is posted with the plan's fields and "_plan", so the server
 * plans the form's values without saving and shows the form again as it was. A form left as loaded keeps
 * the GET, whose address can be shared. */
"use strict";
(function () {
  const planForm = document.getElementById("plan-form");
  const changeForm = document.getElementById("modelconfig_form");
  if (!planForm || !changeForm) return;

  function state() {
    return new URLSearchParams(new FormData(changeForm)).toString();
  }

  const loaded = state();

  planForm.addEventListener("submit", function (event) {
    // data-posted: the page shows values from a POST (a plan, a refused save), which are not saved either.
    if (!planForm.hasAttribute("data-posted") && state() === loaded) return;
    event.preventDefault();
    for (const field of Array.from(planForm.elements)) {
      if (!field.name || field.name.startsWith("_") || field.type === "submit") continue;
      const copy = document.createElement("input");
      copy.type = "hidden";
      copy.name = field.name;
      copy.value = field.value;
      changeForm.appendChild(copy);
    }
    const flag = document.createElement("input");
    flag.type = "hidden";
    flag.name = "_plan";
    flag.value = "1";
    changeForm.appendChild(flag);
    changeForm.action = window.location.pathname + window.location.search + "#plan";
    HTMLFormElement.prototype.submit.call(changeForm);
  });
})();
