import { adjustmentFlow } from "./adjustment/definition";
import { adjustmentFormSchema } from "./adjustment/form";
import { adjustmentService } from "./adjustment/service";
import { applicationFlow } from "./application/definition";
import { applicationFormSchema } from "./application/form";
import { applicationService } from "./application/service";
import { backupFlow } from "./backup/definition";
import { backupFormSchema } from "./backup/form";
import { backupService } from "./backup/service";
import { billingFlow } from "./billing/definition";
import { billingFormSchema } from "./billing/form";
import { billingService } from "./billing/service";
import { paymentFlow } from "./payment/definition";
import { paymentFormSchema } from "./payment/form";
import { paymentService } from "./payment/service";
import { portGrantFlow } from "./port_grant/definition";
import { portGrantFormSchema } from "./port_grant/form";
import { portGrantService } from "./port_grant/service";
import { revocationFlow } from "./revocation/definition";
import { revocationFormSchema } from "./revocation/form";
import { revocationService } from "./revocation/service";
import { rectificationFlow } from "./rectification/definition";
import { rectificationFormSchema } from "./rectification/form";
import { rectificationService } from "./rectification/service";
import { purposeChangeFlow } from "./purpose_change/definition";
import { purposeChangeFormSchema } from "./purpose_change/form";
import { purposeChangeService } from "./purpose_change/service";
import type { FlowDef, FlowModule } from "./types";
import { vmAccountFlow } from "./vm_account/definition";
import { vmAccountFormSchema } from "./vm_account/form";
import { vmAccountService } from "./vm_account/service";

// Every flow, by its key: adding a flow is its folder and one line here. In this order the submission
// document lists them.
const modules = {
  application: { definition: applicationFlow, form: applicationFormSchema, service: applicationService },
  vm_account: { definition: vmAccountFlow, form: vmAccountFormSchema, service: vmAccountService },
  port_grant: { definition: portGrantFlow, form: portGrantFormSchema, service: portGrantService },
  revocation: { definition: revocationFlow, form: revocationFormSchema, service: revocationService },
  adjustment: { definition: adjustmentFlow, form: adjustmentFormSchema, service: adjustmentService },
  purpose_change: { definition: purposeChangeFlow, form: purposeChangeFormSchema, service: purposeChangeService },
  rectification: { definition: rectificationFlow, form: rectificationFormSchema, service: rectificationService },
  backup: { definition: backupFlow, form: backupFormSchema, service: backupService },
  billing: { definition: billingFlow, form: billingFormSchema, service: billingService },
  payment: { definition: paymentFlow, form: paymentFormSchema, service: paymentService },
};

export type FlowKey = keyof typeof modules;

/** Facts type of a flow, read off its definition. */
type FactsOf<K extends FlowKey> = (typeof modules)[K]["definition"] extends FlowDef<infer F, K> ? F : never;

// Each entry is a whole module whose definition carries its own key, and whose service works on the facts its
// definition reads.
export const FLOW_MODULES = modules satisfies { [K in FlowKey]: FlowModule<FactsOf<K>, K> };

export const FLOW_KEYS = Object.keys(FLOW_MODULES) as FlowKey[];

export function isFlowKey(key: string): key is FlowKey {
  return Object.hasOwn(FLOW_MODULES, key);
}

/** The module of a stored request's flow; a key no module has is a broken row, not a user's mistake. */
export function flowModule(key: string): FlowModule {
  if (!isFlowKey(key)) throw new Error(`unknown flow ${key}`);
  return FLOW_MODULES[key];
}
