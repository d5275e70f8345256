import { callStatusRanks, noStatusRank, terminalStatusRank } from './call-status-rank';
import { defineLuaFragment } from './lua-fragment';
import { toLuaLiteral } from './to-lua-literal';

/** `call-status-rank.ts` in Lua, generated from its constants. */
export const callStatusRankLua = defineLuaFragment(
  'call-status-rank',
  `
local terminalStatusRank = ${toLuaLiteral(terminalStatusRank)}
local noStatusRank = ${toLuaLiteral(noStatusRank)}
local callStatusRanks = ${toLuaLiteral(callStatusRanks)}

local function statusRank(status)
  if status == nil then return noStatusRank end
  return callStatusRanks[status] or noStatusRank
end

local function isActiveStatus(status)
  local rank = statusRank(status)
  return rank > noStatusRank and rank < terminalStatusRank
end
`,
);
