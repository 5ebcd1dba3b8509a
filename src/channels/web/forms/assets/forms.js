// Small conveniences for the forms of /new, served by yunshen itself; every form works without this script:
// 添加一行 / 删除这一行 without a round trip, and the 云资源申请's 总计 kept current as rows are typed in.
(function () {
  "use strict";
  var ROW_NAME = /^([A-Za-z]\w*)\[\d+\]\./;

  function renumber(container) {
    var group = container.getAttribute("data-rows");
    var rows = container.querySelectorAll("fieldset.ys-row");
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i];
      row.setAttribute("data-row", String(i));
      var legend = row.querySelector("legend");
      if (legend) legend.textContent = legend.textContent.replace(/\d+\s*$/, String(i + 1));
      var named = row.querySelectorAll("[name]");
      for (var j = 0; j < named.length; j++) {
        var el = named[j];
        if (el.name === "_row") el.value = "remove:" + group + ":" + i;
        else if (ROW_NAME.test(el.name)) el.name = el.name.replace(/\[\d+\]/, "[" + i + "]");
      }
      var ids = row.querySelectorAll("[id]");
      for (var k = 0; k < ids.length; k++) ids[k].id = ids[k].id.replace(new RegExp("^f-" + group + "-\\d+-"), "f-" + group + "-" + i + "-");
      var labels = row.querySelectorAll("label[for]");
      for (var m = 0; m < labels.length; m++)
        labels[m].htmlFor = labels[m].htmlFor.replace(new RegExp("^f-" + group + "-\\d+-"), "f-" + group + "-" + i + "-");
    }
  }

  function clear(row) {
    var fields = row.querySelectorAll("input, select, textarea");
    for (var i = 0; i < fields.length; i++) {
      var el = fields[i];
      if (el.type === "submit" || el.type === "button") continue;
      if (el.type === "checkbox") el.checked = false;
      else el.value = el.name && /\.quantity$/.test(el.name) ? "1" : "";
      el.removeAttribute("aria-invalid");
    }
    var errors = row.querySelectorAll(".ys-field-error");
    for (var j = 0; j < errors.length; j++) errors[j].parentNode.removeChild(errors[j]);
    var invalid = row.querySelectorAll(".ys-field-invalid");
    for (var k = 0; k < invalid.length; k++) invalid[k].classList.remove("ys-field-invalid");
  }

  function number(row, name) {
    var el = row.querySelector('[name$="].' + name + '"]');
    var n = el ? Number(String(el.value).trim()) : 0;
    return isFinite(n) && n > 0 && Math.floor(n) === n ? n : 0;
  }

  function totals(form) {
    var box = form.querySelector("[data-totals]");
    if (!box) return;
    var t = { hosts: 0, vcpu: 0, memoryGb: 0, storageGb: 0 };
    var vms = form.querySelectorAll('[data-rows="vms"] fieldset.ys-row');
    for (var i = 0; i < vms.length; i++) {
      var q = number(vms[i], "quantity") || 1;
      if (!vms[i].querySelector('[name$="].purpose"]').value && !number(vms[i], "vcpu")) continue;
      t.hosts += q;
      t.vcpu += number(vms[i], "vcpu") * q;
      t.memoryGb += number(vms[i], "memoryGb") * q;
      t.storageGb += number(vms[i], "diskGb") * q;
    }
    var paas = form.querySelectorAll('[data-rows="paas"] fieldset.ys-row');
    for (var j = 0; j < paas.length; j++) {
      var p = number(paas[j], "quantity") || 1;
      t.vcpu += number(paas[j], "vcpu") * p;
      t.memoryGb += number(paas[j], "memoryGb") * p;
      t.storageGb += number(paas[j], "storageGb") * p;
    }
    for (var key in t) {
      var el = box.querySelector('[data-total="' + key + '"]');
      if (el) el.textContent = String(t[key]);
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest('button[name="_row"]');
    if (!button) return;
    var container = button.closest("[data-rows]");
    if (!container) return;
    event.preventDefault();
    var rows = container.querySelectorAll("fieldset.ys-row");
    if (button.value.indexOf("add:") === 0) {
      var max = Number(container.getAttribute("data-max")) || 100;
      if (rows.length >= max) return;
      var copy = rows[rows.length - 1].cloneNode(true);
      clear(copy);
      rows[rows.length - 1].parentNode.insertBefore(copy, rows[rows.length - 1].nextSibling);
    } else {
      var row = button.closest("fieldset.ys-row");
      if (rows.length > 1) row.parentNode.removeChild(row);
      else clear(row);
    }
    renumber(container);
    var form = container.closest("form");
    if (form) totals(form);
  });

  document.addEventListener("input", function (event) {
    var form = event.target.form;
    if (form && event.target.closest("[data-rows]")) totals(form);
  });
})();
