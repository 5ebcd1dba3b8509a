import { accessRequestRefusal, requireRegisteredHosts } from "../../src/access/access-requests";
import { completePortGrantRequest, type PortGrantFacts } from "../../src/access/port-grants";
import { parseInput } from "../../src/core/validation";
import type { FlowService } from "../types";
import { portGrantFormSchema } from "./form";

export const portGrantTitle = (f: PortGrantFacts) =>
  `开放端口 ${f.ports.map((p) => `${p.port}/${p.protocol}`).join("、")}（${f.hosts.join("、")}）`;

export const portGrantService: FlowService<PortGrantFacts> = {
  refusal: accessRequestRefusal,
  /** Checks a 端口开放申请: the hosts must be registered. */
  async prepare({ tx, form: rawForm }) {
    const form = parseInput(portGrantFormSchema, rawForm, "端口开放申请表有误");
    await requireRegisteredHosts(tx, form.hosts);
    return { form, facts: form, title: portGrantTitle(form) };
  },
  complete: completePortGrantRequest,
};
