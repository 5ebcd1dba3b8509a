import type { YearSchedule } from "../src/core/calendar";

// Fictitious (not the State Council's): the seven statutory holidays on plausible 2027 dates.
export const schedule2027: YearSchedule = {
  year: 2027,
  source: "测试用 2027 年安排",
  url: "https://www.gov.cn/test/2027.htm",
  holidays: [
    { name: "元旦", from: "2027-01-01", to: "2027-01-03" },
    { name: "春节", from: "2027-02-06", to: "2027-02-14" },
    { name: "清明节", from: "2027-04-03", to: "2027-04-05" },
    { name: "劳动节", from: "2027-05-01", to: "2027-05-05" },
    { name: "端午节", from: "2027-06-09", to: "2027-06-09" },
    { name: "中秋节", from: "2027-09-15", to: "2027-09-15" },
    { name: "国庆节", from: "2027-10-01", to: "2027-10-07" },
  ],
  workdays: [],
};
