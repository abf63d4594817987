/**
 * Feature profiles: which reference CICFlowMeter version the features reproduce, bugs included. Each lives in its
 * own file under profiles/ (rules, columns, row writer); this module names them.
 *
 * - `cic`: CICFlowMeter master 98a5eba (84 columns), profiles/cic.ts.
 * - `fixed`: the corrected fork, GintsEngelen/CICFlowMeter 4dd5319 (94 columns), profiles/fixed.ts.
 * - `cic2017`: the February 2018 build eaa853d that produced CIC-IDS2017 (85 columns, the dataset's names),
 *   profiles/cic2017.ts.
 */
import { cic } from './profiles/cic.js';
import { cic2017 } from './profiles/cic2017.js';
import { fixed } from './profiles/fixed.js';
import { PROFILE_NAMES, type Profile, type ProfileName } from './profiles/profile.js';

export { BulkRule, PROFILE_NAMES, Teardown, type Profile, type ProfileName, type ProfileRules } from './profiles/profile.js';

const PROFILES: Record<ProfileName, Profile> = { cic, fixed, cic2017 };

export function getProfile(name: ProfileName): Profile {
  return PROFILES[name];
}

export function isProfileName(name: string): name is ProfileName {
  return (PROFILE_NAMES as readonly string[]).includes(name);
}
