/** What every statement builder of an import's SQL is given. */
import type { ImportPlan } from '../plan.js';

export interface SqlArgs {
  schema: string;
  stage: string;
  plan: ImportPlan;
  hasPgInputIsValid: boolean;
}
