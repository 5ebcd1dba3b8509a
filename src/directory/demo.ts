import type { ServiceContext } from "../core/context";
import { type DirectoryFileInput, importDirectory } from "./import";
import { getUsers } from "./queries";
import type { Role } from "../core/roles";
import { createLoginLink } from "./login-links";
import { createToken } from "./tokens";

// A made-up directory of 梅州 (Meizhou): every person and number is fictitious; 0753 is Meizhou's area code.
export const demoDirectory = {
  units: [
    { id: "mz-sjj", name: "梅州市政务服务数据管理局", kind: "city", parent: null },
    { id: "mx-sjj", name: "梅州市梅县区政务服务数据管理局", kind: "county", parent: "mz-sjj" },
    { id: "mx-jyj", name: "梅州市梅县区教育局", kind: "unit", parent: "mx-sjj" },
    { id: "mx-wjj", name: "梅州市梅县区卫生健康局", kind: "unit", parent: "mx-sjj" },
    { id: "xn-sjj", name: "兴宁市政务服务数据管理局", kind: "county", parent: "mz-sjj" },
    { id: "xn-gaj", name: "兴宁市公安局", kind: "unit", parent: "xn-sjj" },
    { id: "xn-rsj", name: "兴宁市人力资源和社会保障局", kind: "unit", parent: "xn-sjj" },
    { id: "mz-rsj", name: "梅州市人力资源和社会保障局", kind: "unit", parent: "mz-sjj" },
    { id: "mz-zrzyj", name: "梅州市自然资源局", kind: "unit", parent: "mz-sjj" },
    { id: "mz-yun", name: "政务云梅州节点运营商（数字广东）", kind: "unit", parent: "mz-sjj" },
    { id: "mz-jianli", name: "梅州市政务云监理单位", kind: "unit", parent: "mz-sjj" },
  ],
  users: [
    // 统筹管理单位 and the cloud's security officer sit in the city bureau.
    { id: "zhangwei", name: "张伟", unit: "mz-sjj", mobile: "13807530001", wecomUserId: "ZhangWei", roles: ["manager"] },
    { id: "chenjing", name: "陈静", unit: "mz-sjj", mobile: "13807530002", wecomUserId: "ChenJing", roles: ["manager"] },
    { id: "liuyang", name: "刘洋", unit: "mz-sjj", mobile: "13807530003", wecomUserId: "LiuYang", roles: ["security_officer"] },
    // County bureaus pre-review their units' requests.
    { id: "huangmin", name: "黄敏", unit: "mx-sjj", mobile: "13807530011", wecomUserId: "HuangMin", roles: ["county_bureau"] },
    { id: "zhongli", name: "钟丽", unit: "xn-sjj", mobile: "13807530021", wecomUserId: "ZhongLi", roles: ["county_bureau"] },
    // Applicants: two per county, two at city level.
    { id: "lihua", name: "李华", unit: "mx-jyj", mobile: "13807530012", wecomUserId: "LiHua", roles: ["applicant"] },
    { id: "wangfang", name: "王芳", unit: "mx-wjj", mobile: "13807530013", wecomUserId: "WangFang", roles: ["applicant"] },
    { id: "hexin", name: "何欣", unit: "xn-gaj", mobile: "13807530022", wecomUserId: "HeXin", roles: ["applicant"] },
    { id: "luoqiang", name: "罗强", unit: "xn-rsj", mobile: "13807530023", wecomUserId: "LuoQiang", roles: ["applicant"] },
    { id: "yangfan", name: "杨帆", unit: "mz-rsj", mobile: "13807530031", wecomUserId: "YangFan", roles: ["applicant"] },
    { id: "zhaolei", name: "赵磊", unit: "mz-zrzyj", mobile: "13807530032", wecomUserId: "ZhaoLei", roles: ["applicant"] },
    // Cloud vendor (评估实施单位) and the supervising reviewer (复核单位).
    { id: "xufeng", name: "徐峰", unit: "mz-yun", mobile: "13807530041", wecomUserId: "XuFeng", roles: ["provider"] },
    { id: "linna", name: "林娜", unit: "mz-yun", mobile: "13807530042", wecomUserId: "LinNa", roles: ["provider"] },
    { id: "guojun", name: "郭军", unit: "mz-jianli", mobile: "13807530051", wecomUserId: "GuoJun", roles: ["reviewer"] },
    // 系统管理员: runs yunshen itself (directory, tokens, hosts, calendar, price tables), not a party to any flow.
    { id: "zhoumin", name: "周敏", unit: "mz-sjj", mobile: "13807530005", wecomUserId: "ZhouMin", roles: ["admin"] },
  ],
} satisfies DirectoryFileInput;

/**
 * A 主管单位 and its 下属单位 (002 第十七条、第二十三条): the 下属单位's requests pass the 主管单位's 初审, and its yearly
 * demand is passed on by the 主管单位. Kept apart from demoDirectory, which the test suites seed and count; `yunshen
 * demo` loads both in one import.
 */
export const demoSupervision = {
  units: [
    { id: "mz-jyj", name: "梅州市教育局", kind: "unit", parent: "mz-sjj" },
    { id: "mz-jyksy", name: "梅州市教育考试院", kind: "unit", parent: "mz-sjj", supervisor: "mz-jyj" },
  ],
  users: [
    // 主管单位审核人 of 梅州市教育局, and an applicant of its 下属单位.
    { id: "songtao", name: "宋涛", unit: "mz-jyj", mobile: "13807530071", wecomUserId: "SongTao", roles: ["unit_supervisor"] },
    { id: "fengyu", name: "冯雨", unit: "mz-jyksy", mobile: "13807530072", wecomUserId: "FengYu", roles: ["applicant"] },
  ],
} satisfies DirectoryFileInput;

/** The whole demo: demoDirectory and demoSupervision, as one file. */
export const fullDemoDirectory = {
  units: [...demoDirectory.units, ...demoSupervision.units],
  users: [...demoDirectory.users, ...demoSupervision.users],
} satisfies DirectoryFileInput;

/** Whose tokens `yunshen demo` prints: one of each seat the walk-throughs of flows 1 and 5 and the operator's need. */
export const DEMO_TOKEN_USERS = [
  "lihua", // applicant in a county unit (梅县区教育局): the request passes the county bureau
  "yangfan", // applicant in a city-level unit (梅州市人社局): straight to the provider
  "huangmin", // county_bureau of 梅县区
  "zhangwei", // manager
  "xufeng", // provider
  "guojun", // reviewer
  "liuyang", // security_officer: asks for VM accounts (flow 5)
  "zhoumin", // admin: the operator's tasks through the running service
  "fengyu", // applicant in a 下属单位 (梅州市教育考试院) under the 韶关 profile: the request passes its 主管单位's 初审
  "songtao", // unit_supervisor of 梅州市教育局: pre-reviews its 下属单位's requests, passes their yearly demand on
] as const;

export interface DemoToken {
  userId: string;
  name: string;
  roles: Role[];
  token: string;
  /** A one-time sign-in link's secret for the web portal (`<base>/login/<secret>`), valid LOGIN_LINK_HOURS. */
  loginLink: string;
}

/** Demo tokens are for trying the service out: a week, so that one left in a shell history soon stops working. */
export const DEMO_TOKEN_DAYS = 7;

/**
 * Imports the demo directory (idempotent) and issues a fresh "demo" token for each of DEMO_TOKEN_USERS, all
 * expiring DEMO_TOKEN_DAYS from now, and a one-time sign-in link to the web portal for each.
 */
export async function loadDemo(ctx: ServiceContext): Promise<{ tokens: DemoToken[]; expiresAt: Date }> {
  await importDirectory({ ctx, input: fullDemoDirectory });
  const people = new Map((await getUsers(ctx.db, DEMO_TOKEN_USERS)).map((u) => [u.id, u]));
  const tokens: DemoToken[] = [];
  let expiresAt = ctx.clock.now();
  for (const userId of DEMO_TOKEN_USERS) {
    const issued = await createToken({ ctx, input: { userId, name: "demo", expires: `${DEMO_TOKEN_DAYS}d` } });
    expiresAt = issued.expiresAt;
    const user = people.get(userId);
    const link = await createLoginLink({ ctx, input: { userId } });
    tokens.push({ userId, name: user?.name ?? userId, roles: user?.roles ?? [], token: issued.token, loginLink: link.token });
  }
  return { tokens, expiresAt };
}
