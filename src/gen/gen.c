/* gen.c -- the synthetic world: users, catalogue, financial products, credit
 * records, consents and a time-ordered event stream, plus the latent truth
 * that produced them (truth.json). See gen.h for the files and invariants.
 *
 * How it works:
 *  - Users are drawn first. Each carries latent traits (category tastes
 *    shaped by age, gender and children; price sensitivity; default risk;
 *    response probability per marketing channel; a heavy-tailed activity
 *    level) and a little behavioural state (pending cart, last purchase, next
 *    repayment) -- about 150 bytes a user.
 *  - Items get a category path, a brand, a log-normal price around the
 *    subcategory's median and a Zipf popularity. Choosing an item means:
 *    category from the user's tastes, subcategory and item by popularity,
 *    then the cheaper of two candidates with probability = price sensitivity.
 *  - Events are generated a day at a time: every user may visit (Bernoulli by
 *    activity x weekday x promotion), may answer a marketing message (by
 *    latent channel response, only with consent, never in the hold-out), may
 *    repay an instalment (late by risk). A visit is a session of intents:
 *    search -> click -> view -> cart (~9 %) -> purchase (~30 % of carts, now or
 *    on the next visit), with favourites, shares, coupons, loan applications,
 *    later reviews and rare refunds. The day's events are ordered by a stable
 *    counting sort on the second, written, and forgotten.
 *  - With identifiers on, each person also carries devices, openids and a
 *    phone (identities.c): a session shows the one its channel sees, and
 *    the logins are written in file order, where each identifier needs one;
 *    none of it draws from the events' stream.
 *  - Defects and duplicates come from their own random stream, so the valid
 *    world is the same for any dirty_rate. Each dirty row is a valid row with
 *    exactly one defect, counted per quarantine reason (docs/FORMATS.md).
 *
 * Output goes through a 1 MiB staging buffer per file; numbers and times are
 * formatted by hand (no printf on the hot path); every fwrite/fclose is
 * checked, and the first failure is reported with the file's path.
 */
#ifndef _GNU_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "gen/gen.h"
#include "gen_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#define DAY_S 86400
#define NONE32 UINT32_MAX
#define STDIO_BUF (1u << 20) /* setvbuf size of every output file */
#define WBUF_CAP (4u << 20)  /* our staging buffer: larger than stdio's, so
                              * fwrite passes most bytes straight to write(2)
                              * instead of copying them once more */

/* ---- static tables ------------------------------------------------------ */

typedef struct {
    const char *name, *zh; /* zh: UTF-8, used to make truncated-byte defects */
    double lat, lon, w;
    unsigned region; /* first six digits of a resident id number */
} city_def_t;

static const city_def_t CITIES[] = {
    {"Shanghai", "上海", 31.2304, 121.4737, 0, 310101},
    {"Beijing", "北京", 39.9042, 116.4074, 0, 110101},
    {"Shenzhen", "深圳", 22.5431, 114.0579, 0, 440304},
    {"Guangzhou", "广州", 23.1291, 113.2644, 0, 440104},
    {"Chengdu", "成都", 30.5728, 104.0668, 0, 510104},
    {"Hangzhou", "杭州", 30.2741, 120.1551, 0, 330102},
    {"Chongqing", "重庆", 29.5630, 106.5516, 0, 500103},
    {"Wuhan", "武汉", 30.5928, 114.3055, 0, 420102},
    {"Xi'an", "西安", 34.3416, 108.9398, 0, 610102},
    {"Suzhou", "苏州", 31.2990, 120.5853, 0, 320508},
    {"Tianjin", "天津", 39.3434, 117.3616, 0, 120101},
    {"Nanjing", "南京", 32.0603, 118.7969, 0, 320102},
    {"Changsha", "长沙", 28.2282, 112.9388, 0, 430102},
    {"Zhengzhou", "郑州", 34.7466, 113.6254, 0, 410102},
    {"Dongguan", "东莞", 23.0207, 113.7518, 0, 441900},
    {"Qingdao", "青岛", 36.0671, 120.3826, 0, 370202},
    {"Shenyang", "沈阳", 41.8057, 123.4315, 0, 210102},
    {"Ningbo", "宁波", 29.8683, 121.5440, 0, 330203},
    {"Kunming", "昆明", 25.0389, 102.7183, 0, 530102},
    {"Hefei", "合肥", 31.8206, 117.2272, 0, 340102},
    {"Foshan", "佛山", 23.0215, 113.1214, 0, 440604},
    {"Xiamen", "厦门", 24.4798, 118.0894, 0, 350203},
    {"Fuzhou", "福州", 26.0745, 119.2965, 0, 350102},
    {"Jinan", "济南", 36.6512, 117.1201, 0, 370102},
    {"Dalian", "大连", 38.9140, 121.6147, 0, 210202},
    {"Harbin", "哈尔滨", 45.8038, 126.5350, 0, 230102},
    {"Wuxi", "无锡", 31.4912, 120.3119, 0, 320202},
    {"Changchun", "长春", 43.8171, 125.3235, 0, 220102},
    {"Nanning", "南宁", 22.8170, 108.3665, 0, 450102},
    {"Guiyang", "贵阳", 26.6470, 106.6302, 0, 520102},
};
#define NCITY ((int)(sizeof CITIES / sizeof CITIES[0]))

enum { NCAT = 11 };
static const char *const CATS[NCAT] = {"electronics", "clothing", "home",   "mother_baby",
                                       "beauty",      "food",     "books",  "sports",
                                       "travel",      "pets",     "health"};

typedef struct {
    int top;
    const char *name;
    double median, sigma, weight; /* price median (CNY), log sd, share of items */
    const char *kw[3];            /* search keywords; kw[0] also names the item */
} sub_def_t;

/* Sorted by top category: a category's subcategories are contiguous. */
static const sub_def_t SUBS[] = {
    {0, "phones", 2600, 0.55, 3.0, {"手机", "smartphone", "5G手机"}},
    {0, "laptops", 5500, 0.40, 1.5, {"笔记本电脑", "laptop", "轻薄本"}},
    {0, "audio", 350, 0.80, 2.0, {"蓝牙耳机", "earbuds", "降噪耳机"}},
    {0, "cameras", 3800, 0.60, 0.8, {"相机", "camera", "微单"}},
    {0, "accessories", 60, 0.80, 3.0, {"充电器", "手机壳", "数据线"}},
    {1, "women", 220, 0.60, 4.0, {"连衣裙", "女装", "外套"}},
    {1, "men", 260, 0.60, 3.0, {"男装", "衬衫", "夹克"}},
    {1, "shoes", 420, 0.50, 3.0, {"运动鞋", "sneakers", "跑鞋"}},
    {1, "bags", 380, 0.80, 1.5, {"双肩包", "handbag", "包包"}},
    {2, "furniture", 1200, 0.80, 1.5, {"沙发", "书桌", "椅子"}},
    {2, "kitchen", 180, 0.80, 2.5, {"空气炸锅", "锅具", "刀具"}},
    {2, "bedding", 260, 0.60, 2.0, {"四件套", "被子", "枕头"}},
    {2, "appliances", 1500, 0.70, 1.5, {"扫地机器人", "洗衣机", "冰箱"}},
    {3, "diapers", 129, 0.30, 2.0, {"纸尿裤", "尿不湿", "diapers"}},
    {3, "formula", 268, 0.30, 1.5, {"婴儿奶粉", "奶粉", "formula"}},
    {3, "toys", 99, 0.70, 2.5, {"玩具", "积木", "益智玩具"}},
    {3, "strollers", 899, 0.50, 0.8, {"婴儿车", "推车", "安全座椅"}},
    {4, "skincare", 280, 0.70, 3.0, {"面霜", "精华", "防晒"}},
    {4, "makeup", 160, 0.60, 2.5, {"口红", "粉底", "眼影"}},
    {4, "fragrance", 520, 0.50, 1.0, {"香水", "perfume", "香氛"}},
    {5, "snacks", 39, 0.60, 3.0, {"零食", "坚果", "饼干"}},
    {5, "drinks", 59, 0.60, 2.0, {"咖啡", "茶饮", "牛奶"}},
    {5, "fresh", 79, 0.60, 2.0, {"水果", "牛排", "海鲜"}},
    {5, "tea", 168, 0.90, 1.0, {"茶叶", "绿茶", "普洱"}},
    {6, "fiction", 45, 0.40, 2.0, {"小说", "fiction", "科幻小说"}},
    {6, "education", 68, 0.50, 2.0, {"教材", "考研", "英语"}},
    {6, "children", 39, 0.40, 1.5, {"绘本", "童书", "儿童书"}},
    {7, "fitness", 199, 0.90, 2.0, {"瑜伽垫", "哑铃", "健身"}},
    {7, "outdoor", 450, 0.80, 1.5, {"帐篷", "登山鞋", "冲锋衣"}},
    {7, "cycling", 1600, 0.80, 0.8, {"自行车", "骑行", "头盔"}},
    {8, "flights", 1100, 0.60, 1.5, {"机票", "特价机票", "flights"}},
    {8, "hotels", 480, 0.60, 2.0, {"酒店", "民宿", "hotel"}},
    {8, "packages", 3200, 0.60, 1.0, {"跟团游", "旅游", "自由行"}},
    {9, "food", 189, 0.60, 2.0, {"猫粮", "狗粮", "冻干"}},
    {9, "supplies", 89, 0.80, 1.5, {"猫砂", "猫爬架", "宠物玩具"}},
    {10, "supplements", 198, 0.60, 2.0, {"维生素", "蛋白粉", "益生菌"}},
    {10, "devices", 299, 0.70, 1.0, {"血压计", "体温计", "按摩仪"}},
};
#define NSUB ((int)(sizeof SUBS / sizeof SUBS[0]))

enum { NBRAND = 5 };
static const char *const BRANDS[NCAT][NBRAND] = {
    {"Xinghe", "Leiting", "Mozhi", "Pangu", "Lumen"},
    {"Yunshang", "Qingfeng", "Moxi", "Urban Tide", "Linyu"},
    {"Jiayuan", "Muwu", "Anju", "Nordhome", "Shijia"},
    {"Beibei", "Tongxin", "Little Oak", "Anmu", "Leyou"},
    {"Yanxi", "Huarong", "Zhiyan", "Velora", "Qingyan"},
    {"Liangpin", "Sanzhi", "Xianfeng", "Orchard", "Chayu"},
    {"Zhonghua Press", "Yilin", "Xinjing", "Bookwise", "Mingri"},
    {"Yuedong", "Feichi", "Peakline", "Jianxing", "Tuolu"},
    {"Feizhu Travel", "Yunyou", "Skyway", "Qingtu", "Hanglv"},
    {"Mengchong", "Pawsome", "Maomi", "Wangwang", "Petlove"},
    {"Kangjian", "Yangsheng", "Vitalis", "Renhe", "Baikang"},
};
static const double BRAND_W[NBRAND] = {1.0, 0.6, 0.45, 0.35, 0.3};
static const double BRAND_PRICE[NBRAND] = {1.35, 1.1, 1.0, 0.9, 0.8};

/* Category base tastes by (age band, gender); rows: young m, young f, mid m,
 * mid f, older m, older f. Young people lean to electronics and clothing,
 * the middle-aged to home and mother_baby (seed A §2). */
static const double TASTE_BASE[6][NCAT] = {
    {3.0, 1.5, 0.6, 0.1, 0.3, 1.2, 0.6, 1.5, 0.8, 0.4, 0.3},
    {1.5, 3.0, 0.8, 0.3, 2.5, 1.3, 0.7, 0.7, 1.0, 0.5, 0.4},
    {1.8, 0.8, 1.8, 1.5, 0.2, 1.2, 0.8, 0.9, 1.0, 0.4, 0.8},
    {0.8, 1.4, 2.2, 2.6, 1.2, 1.3, 0.8, 0.5, 0.9, 0.4, 0.9},
    {1.0, 0.6, 1.8, 0.4, 0.1, 1.6, 1.0, 0.6, 1.2, 0.4, 2.0},
    {0.5, 1.0, 2.2, 0.8, 0.6, 1.8, 0.9, 0.4, 1.2, 0.5, 2.2},
};

/* Relative traffic by clock hour: low at night, evening peak 20-22h. */
static const double HOUR_W[24] = {0.40, 0.18, 0.10, 0.06, 0.05, 0.07, 0.15, 0.35,
                                  0.55, 0.65, 0.75, 0.80, 0.90, 0.80, 0.75, 0.75,
                                  0.80, 0.85, 0.90, 1.00, 1.45, 1.65, 1.50, 0.90};
/* Sunday .. Saturday. */
static const double WEEKDAY_W[7] = {1.15, 0.90, 0.90, 0.95, 0.95, 1.05, 1.20};

typedef struct {
    const char *name;
    int income; /* 0 low, 1 mid, 2 high */
    double w;
} occ_def_t;
static const occ_def_t OCCS[] = {
    {"office worker", 1, 22}, {"engineer", 2, 10},      {"sales", 1, 9},
    {"teacher", 1, 5},        {"civil servant", 1, 4},  {"freelancer", 0, 6},
    {"self-employed", 1, 8},  {"doctor", 2, 3},         {"factory worker", 0, 9},
    {"delivery rider", 0, 6}, {"designer", 1, 4},       {"finance", 2, 4},
    {"homemaker", 0, 3},      {"student", 0, 0},        {"retired", 0, 0},
};
#define NOCC ((int)(sizeof OCCS / sizeof OCCS[0]))
enum { OCC_STUDENT = NOCC - 2, OCC_RETIRED = NOCC - 1 };

static const char *const EDUS[] = {"middle school", "high school", "associate",
                                   "bachelor",      "master",      "doctorate"};
static const double EDU_W[] = {6, 18, 25, 40, 9, 2};
#define NEDU 6

static const char *const SURNAMES[] = {
    "Wang",  "Li",    "Zhang", "Liu",   "Chen",  "Yang",  "Huang", "Zhao",  "Wu",    "Zhou",
    "Xu",    "Sun",   "Ma",    "Zhu",   "Hu",    "Guo",   "He",    "Gao",   "Lin",   "Luo",
    "Zheng", "Liang", "Xie",   "Song",  "Tang",  "Han",   "Feng",  "Deng",  "Cao",   "Peng",
    "Zeng",  "Xiao",  "Tian",  "Dong",  "Yuan",  "Pan",   "Cai",   "Jiang", "Yu",    "Du",
    "Ye",    "Cheng", "Wei",   "Su",    "Lu",    "Ding",  "Ren",   "Shen",  "Yao",   "Jin",
    "Fu",    "Zhong", "Cui",   "Tan",   "Lv",    "Fan",   "Wan",   "Qiu",   "Jia",   "Dai",
    "Xia",   "Fang",  "Shi",   "Kong",  "Bai",   "Meng",  "Qin",   "Yan",   "Hou",   "Xiong",
    "Mo",    "Duan",  "Lei",   "Long",  "Tao",   "Hao",   "Gu",    "Mao",   "Qian",  "Wen",
    "Kang",  "Shao",  "Niu",   "Hong",  "Chang", "Yin",   "Geng",  "Guan",  "Mei",   "Lai",
    "Qi",    "Ji",    "Xiang", "Bao",   "Zuo",   "Shu",   "Tong",  "Ning",  "Ou",    "Yi",
};
#define NSURNAME ((uint64_t)(sizeof SURNAMES / sizeof SURNAMES[0]))

/* Given-name syllables all start with a consonant, so two of them joined
 * ("Wei" + "ming") never read as another pair: names stay unique. */
static const char *const SYLLABLES[] = {
    "Wei",  "Fang", "Na",    "Min",  "Jing",  "Li",   "Qiang", "Lei",   "Jun",  "Yang",
    "Yong", "Yan",  "Jie",   "Juan", "Tao",   "Ming", "Chao",  "Xiu",   "Xia",  "Ping",
    "Gang", "Hua",  "Hui",   "Ying", "Yu",    "Hong", "Lan",   "Feng",  "Xin",  "Bin",
    "Bo",   "Hao",  "Kai",   "Lin",  "Mei",   "Qing", "Rui",   "Shan",  "Ting", "Wen",
    "Xiang", "Xuan", "Yi",   "Yue",  "Zhen",  "Zhi",  "Zi",    "Chen",  "Dan",  "Fei",
    "Guang", "Hai", "Heng",  "Jia",  "Jian",  "Kun",  "Le",    "Long",  "Lu",   "Nan",
    "Peng", "Qi",   "Ran",   "Rong", "Shu",   "Song", "Tian",  "Wu",    "Xi",   "Xiao",
    "Xu",   "Yao",  "Yun",   "Ze",   "Zhe",   "Cheng", "Di",   "Fan",   "Han",  "Ji",
    "Jin",  "Kang", "Lang",  "Meng", "Ning",  "Pei",  "Qian",  "Shuang", "Tong", "Wan",
    "Xue",  "Yuan", "Zhu",   "Bao",  "Can",   "Dong", "Fu",    "Gui",   "He",   "Huan",
    "Jiao", "Ke",   "Liang", "Mu",   "Nuo",   "Qiu",  "Sen",   "Shuo",  "Teng", "Xing",
};
#define NSYL ((uint64_t)(sizeof SYLLABLES / sizeof SYLLABLES[0]))

static const char *const EMAIL_DOMAINS[] = {"qq.com",      "163.com",   "126.com",
                                            "gmail.com",   "outlook.com", "sina.com",
                                            "foxmail.com", "hotmail.com", "139.com"};
static const double EMAIL_W[] = {30, 22, 10, 8, 8, 6, 6, 5, 5};
#define NDOMAIN 9

static const unsigned PHONE_PREFIX[] = {130, 131, 132, 133, 134, 135, 136, 137, 138, 139,
                                        150, 151, 152, 153, 155, 156, 157, 158, 159, 180,
                                        181, 182, 183, 184, 185, 186, 187, 188, 189};
#define NPHONE ((int)(sizeof PHONE_PREFIX / sizeof PHONE_PREFIX[0]))

/* Event types and channels; the names are the registered ones in FORMATS.md. */
enum {
    EV_VIEW, EV_SEARCH, EV_CLICK, EV_CART, EV_FAV, EV_PURCHASE, EV_REFUND,
    EV_REVIEW, EV_SHARE, EV_COUPON, EV_REPAY, EV_LOAN, EV_IDENTIFY, NEVTYPE
};
static const char *const EV_NAMES[NEVTYPE] = {"view",   "search",   "click",  "cart",
                                              "fav",    "purchase", "refund", "review",
                                              "share",  "coupon_use", "repay", "loan_apply",
                                              "identify"};
/* the channels (gen_int.h) */
static const char *const CH_NAMES[NCHAN] = {"web", "app", "store", "social", "mini_program"};
/* Preferred channel weights by age band (young, mid, older). */
static const double CH_W[3][NCHAN] = {
    {12, 50, 6, 12, 20}, {25, 40, 12, 8, 15}, {25, 30, 20, 5, 20}};

/* Marketing channels and the consent purpose each needs. */
enum { MSG_PUSH, MSG_SMS, MSG_EMAIL, MSG_INAPP, NMSG };
static const char *const MSG_NAMES[NMSG] = {"push", "sms", "email", "in_app"};
enum { P_PROFILING, P_PUSH, P_SMS, P_EMAIL, P_CREDIT, NPURP };
static const char *const PURPOSES[NPURP] = {"profiling", "marketing_push", "marketing_sms",
                                            "marketing_email", "credit_offers"};
static const int MSG_PURPOSE[NMSG] = {P_PUSH, P_SMS, P_EMAIL, P_PROFILING};
static const double GRANT_P[NPURP] = {0.96, 0.82, 0.68, 0.55, 0.50};

#define HOLDOUT_SHARE 0.10
#define SEND_P 0.04       /* a user gets a marketing message on an ordinary day */
#define SEND_P_PROMO 0.60 /* ... on the promotion day */
#define SEND_P_PRE 0.20   /* ... on the day before it */
#define VISIT_BASE 0.037  /* organic visits per user-day at activity 1 (1M users x 365 days ~ 1e8 events) */

typedef struct {
    const char *id, *kind, *name;
    int term;
    double apr, amin, amax;
    const char *elig, *disc;
} product_def_t;

static const product_def_t PRODUCTS[] = {
    {"p001", "instalment", "购物分期 3期 (shopping instalment, 3 months)", 3, 0.0, 100, 20000,
     "age >= 18 and credit_band in (\"A\",\"B\",\"C\")",
     "Interest-free for 3 months; a late payment costs 0.05% of the overdue amount per day. "
     "Borrow only what you can repay."},
    {"p002", "instalment", "购物分期 12期 (shopping instalment, 12 months)", 12, 0.149, 500, 50000,
     "age >= 20 and credit_band in (\"A\",\"B\") and max_overdue_days < 30",
     "APR 14.9%; total cost of credit is shown before you confirm. Late payments are reported "
     "to the credit reference centre."},
    {"p003", "instalment", "Phone upgrade instalment, 24 months", 24, 0.129, 1000, 20000,
     "age >= 22 and credit_band in (\"A\",\"B\") and affinity(\"electronics\") > 0.2",
     "APR 12.9%; the phone stays yours if you repay early, without a fee."},
    {"p004", "credit_line", "消费信用额度 (consumer credit line)", 12, 0.18, 1000, 50000,
     "credit_band in (\"A\",\"B\") and age >= 22",
     "APR up to 18%; interest accrues daily on the amount drawn. Borrow responsibly."},
    {"p005", "credit_line", "Promotion-day temporary limit raise", 1, 0.18, 500, 10000,
     "credit_band in (\"A\",\"B\") and monetary_90d > 500 and age >= 22",
     "Temporary limit valid for 30 days; APR up to 18% on amounts not repaid in the "
     "interest-free period."},
    {"p006", "credit_card", "Co-branded shopping credit card", 0, 0.18, 5000, 100000,
     "age >= 18 and income_band in (\"mid\",\"high\") and credit_band in (\"A\",\"B\",\"C\")",
     "Revolving credit at up to 18% APR; the minimum payment does not clear your balance."},
    {"p007", "credit_card", "Travel rewards credit card", 0, 0.18, 10000, 200000,
     "age >= 22 and income_band in (\"mid\",\"high\") and affinity(\"travel\") > 0.2",
     "Annual fee waived after 6 purchases a year; revolving credit at up to 18% APR."},
    {"p008", "insurance", "Travel insurance, 7 days", 0, 0.0, 30, 200,
     "age >= 18 and age <= 75",
     "Covers medical costs and delays abroad and at home; exclusions apply, read the policy "
     "wording before buying."},
    {"p009", "insurance", "Phone screen protection, 12 months", 12, 0.0, 49, 299,
     "affinity(\"electronics\") > 0.1",
     "One screen repair a year; theft and water damage are not covered."},
    {"p010", "insurance", "Return shipping insurance", 0, 0.0, 1, 10, "age >= 18",
     "Pays the return shipping of one parcel up to 20 CNY."},
    {"p011", "wealth", "Money market fund", 0, 0.021, 1, 1000000, "age >= 18",
     "Past yield (2.1% a year) does not guarantee future returns; the fund is not a deposit."},
    {"p012", "wealth", "90-day fixed income note", 3, 0.028, 1000, 500000,
     "age >= 18 and income_band in (\"mid\",\"high\")",
     "Expected yield 2.8% a year, not guaranteed; early redemption is not possible."},
};
#define NPRODUCT ((int)(sizeof PRODUCTS / sizeof PRODUCTS[0]))

static const char *const INCOME_NAMES[3] = {"low", "mid", "high"};

/* ---- dirty-row kinds ----------------------------------------------------- */

enum { FL_USERS, FL_ITEMS, FL_CREDIT, FL_CONSENTS, FL_EVENTS, NFILE };
static const char *const FILE_NAMES[NFILE] = {"users.csv", "items.csv", "credit.csv",
                                              "consents.csv", "events.csv"};

enum {
    D_EV_FIELDS_SHORT, D_EV_FIELDS_LONG, D_EV_BAD_AMOUNT, D_EV_BAD_QTY, D_EV_BAD_TIME,
    D_EV_TIME_OLD, D_EV_TIME_FUTURE, D_EV_UNKNOWN_TYPE, D_EV_UNKNOWN_CHANNEL,
    D_EV_NEG_AMOUNT, D_EV_NO_USER, D_EV_NO_TYPE, D_EV_NO_TS, D_EV_BAD_UTF8,
    D_EV_LONG_QUERY, D_EV_RATING_RANGE, D_EV_QTY_ZERO, D_EV_LAT_RANGE, D_EV_LAT_NO_LON,
    D_EV_BAD_ID,
    D_EV_N,
    D_US_BAD_GENDER = D_EV_N, D_US_BAD_EMAIL, D_US_FIELDS, D_US_YEAR_RANGE, D_US_BAD_YEAR,
    D_US_BAD_TIME,
    D_IT_NEG_PRICE, D_IT_BAD_PRICE, D_IT_FIELDS, D_IT_LONG_TITLE,
    D_CR_UNKNOWN_USER, D_CO_UNKNOWN_USER,
    D_N
};
enum { D_US_FIRST = D_US_BAD_GENDER, D_US_N = D_IT_NEG_PRICE - D_US_BAD_GENDER };

typedef struct {
    const char *kind, *reason;
    int file;
    double w; /* relative weight within its file */
} dirty_def_t;

static const dirty_def_t DIRTY[D_N] = {
    {"field_count_short", "field_count", FL_EVENTS, 5},
    {"field_count_long", "field_count", FL_EVENTS, 5},
    {"bad_amount", "bad_number", FL_EVENTS, 4},
    {"bad_qty", "bad_number", FL_EVENTS, 4},
    {"bad_time", "bad_time", FL_EVENTS, 8},
    {"time_before_1990", "time_too_old", FL_EVENTS, 6},
    {"time_far_future", "time_future", FL_EVENTS, 6},
    {"unknown_type", "unknown_type", FL_EVENTS, 8},
    {"unknown_channel", "unknown_channel", FL_EVENTS, 7},
    {"negative_amount", "negative_amount", FL_EVENTS, 7},
    {"missing_user", "missing_field", FL_EVENTS, 4},
    {"missing_type", "missing_field", FL_EVENTS, 3},
    {"missing_ts", "missing_field", FL_EVENTS, 3},
    {"invalid_utf8", "bad_utf8", FL_EVENTS, 7},
    {"query_too_long", "too_long", FL_EVENTS, 5},
    {"rating_out_of_range", "out_of_range", FL_EVENTS, 4},
    {"qty_zero", "out_of_range", FL_EVENTS, 4},
    {"lat_out_of_range", "out_of_range", FL_EVENTS, 2},
    {"lat_without_lon", "inconsistent", FL_EVENTS, 6},
    {"user_id_control_char", "bad_id", FL_EVENTS, 2},
    {"bad_gender", "bad_value", FL_USERS, 1},
    {"email_without_at", "bad_value", FL_USERS, 1},
    {"field_count", "field_count", FL_USERS, 1},
    {"birth_year_out_of_range", "out_of_range", FL_USERS, 1},
    {"birth_year_not_a_number", "bad_number", FL_USERS, 1},
    {"registered_at_bad_time", "bad_time", FL_USERS, 1},
    {"negative_price", "negative_price", FL_ITEMS, 2},
    {"price_not_a_number", "bad_number", FL_ITEMS, 1},
    {"field_count", "field_count", FL_ITEMS, 1},
    {"title_too_long", "too_long", FL_ITEMS, 1},
    {"unknown_user", "unknown_user", FL_CREDIT, 1},
    {"unknown_user", "unknown_user", FL_CONSENTS, 1},
};

/* ---- generator state ----------------------------------------------------- */

enum {
    UF_HOLDOUT = 1, UF_CREDIT = 2, UF_LOAN = 4, UF_DEFAULT = 8, UF_CART = 16,
    UF_REVIEW = 32, UF_REFUND = 64, UF_CHILDREN = 128
};

typedef struct {
    float taste[NCAT]; /* cumulative; taste[NCAT-1] == 1 */
    float sens, risk, act, resp[NMSG];
    int64_t reg_s, revoke_s;            /* revoke_s: when revoke_p was revoked */
    uint32_t last_item, last_amount;    /* last purchase, for review/refund */
    uint32_t cart_item, instal;         /* pending cart; monthly repayment, cents */
    int32_t review_day, refund_day, next_due;
    uint16_t birth_year;
    uint8_t gender, age, city, income, occ, edu, pref_chan, pref_hour;
    uint8_t consent, revoke_p, cart_qty, last_qty, vip, married, flags, signup;
    uint8_t phone_pre; /* index of the phone's prefix in PHONE_PREFIX */
} guser_t;

/* What the per-day sweep over all users reads, kept apart so the sweep
 * streams 32 bytes a user instead of the whole record (a user's full record
 * is only touched when something happens to them). */
typedef struct {
    float act;
    int32_t reg_day;   /* day index of registration (negative: before start) */
    int32_t repay_day; /* day index of the next repayment, -1 none */
    uint8_t flags;     /* UF_* */
    uint8_t consent;   /* bit per purpose, as granted at registration */
    uint8_t revoke_p;  /* purpose revoked later, 0xFF none */
    uint8_t pad;
    float resp[NMSG];
} uhot_t;

/* A slot of an alias table: take item keep when the random cut < cut, else
 * item other. The three words share a cache line, so a pick costs one miss. */
typedef struct {
    uint32_t cut, keep, other;
} alias_t;

typedef struct {
    uint32_t price; /* cents */
    float rel;      /* log(price / subcategory median) */
    uint8_t top, sub, brand;
} gitem_t;

enum { EF_AMOUNT = 1, EF_GEO = 2, EF_UNIX = 4, EF_NOSESS = 8 };

typedef struct {
    uint32_t sec; /* seconds since the day window's start */
    uint32_t user, item, session, amount;
    uint16_t query; /* index + 1 into the query table, 0 none */
    uint8_t type, chan, qty, rating, campaign, flags, city;
    uint8_t slot; /* the user's identifier shown (gen_int.h); identify: the alias */
} gev_t;

typedef struct {
    FILE *f;
    char *path;
    char *buf;
    size_t len;
    int err, eno;
} wr_t;

typedef struct {
    const char *p[20];
    size_t n[20];
    unsigned char quote[20];
    int nf;
    char sc[4096]; /* storage for replaced fields */
    size_t sl;
} row_t;

typedef struct {
    gev_t ev;      /* the event */
    uint64_t id;   /* its event id */
    uint64_t due;  /* write after this many rows of the day */
} dup_t;

typedef struct {
    tl_gen_opts_t o;
    tl_errbuf_t *eb;
    const char *dir;
    int64_t start_s, end_s;
    int end_year;
    int promo_day;
    tl_rng_t rev, rdirty; /* events; defects and duplicates */

    guser_t *users;
    uhot_t *hot;
    gitem_t *items;
    alias_t *alias;       /* items grouped by subcategory, one Walker alias
                           * table per subcategory: O(1) Zipf sampling */
    uint32_t sub_off[NSUB + 1];
    double sub_w[NSUB], top_w[NCAT], top_cum_all[NCAT];
    double city_cum[NCITY], hour_cum[24], occ_cum[NOCC], edu_cum[NEDU], dom_cum[NDOMAIN];
    double ch_cum[3][NCHAN];
    double brand_cum[NBRAND];

    char *qarena; /* search query strings */
    uint32_t qoff[NSUB * 8 + 1];
    int nq;

    uint64_t name_space, name_mul, name_add;
    int name_syl;
    uint64_t phone_mul, phone_add, mail_mul, mail_add, mail_space;

    /* one day of events */
    gev_t *ev;
    size_t nev, capev;
    uint32_t *order, *cnt;
    int64_t day_s;    /* start of the current day window, unix seconds */
    uint32_t day_len; /* seconds in the window (86400) */
    uint32_t session;
    char camp[NMSG][48];

    uint8_t city_len[NCITY], type_len[NEVTYPE], chan_len[NCHAN];

    /* time formatting cache */
    int64_t iso_day;
    char iso_pre[16];

    uint64_t eid, n_valid, n_dup;
    uint64_t type_n[NEVTYPE];
    uint64_t dirty_n[D_N];
    tl_gen_stats_t st;
    double ev_dirty_cum[D_EV_N];

    tl__gen_ids_t *ids; /* the identifiers people carry; NULL: member ids only */
    tl__gen_ids_stats_t ids_n;

    wr_t w;
} gen_t;

/* ---- small helpers -------------------------------------------------------- */

static double clampd(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

static void cum_init(double *cum, const double *w, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += w[i], cum[i] = s;
    for (int i = 0; i < n; i++) cum[i] /= s;
    cum[n - 1] = 1.0;
}

static int cum_pick(const double *cum, int n, double u) {
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (u < cum[mid]) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}

static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t gcd64(uint64_t a, uint64_t b) {
    while (b) {
        uint64_t t = a % b;
        a = b, b = t;
    }
    return a;
}

/* A multiplier coprime with m, so i -> (i*mul + add) % m is a bijection. */
static uint64_t coprime_mul(uint64_t m, uint64_t seed) {
    uint64_t a = (mix64(seed) % m) | 1;
    if (a < 2) a = m > 3 ? 3 : 1;
    while (gcd64(a, m) != 1) a = (a + 2) % m ? (a + 2) % m : 1;
    return a;
}

/* ---- number and time formatting (hot path: no printf) -------------------- */

static const char DIGITS2[] = "00010203040506070809101112131415161718192021222324"
                              "25262728293031323334353637383940414243444546474849"
                              "50515253545556575859606162636465666768697071727374"
                              "75767778798081828384858687888990919293949596979899";

static int ndigits(uint64_t v) {
    int n = 1;
    while (v >= 10000) v /= 10000, n += 4;
    return n + (v >= 10) + (v >= 100) + (v >= 1000);
}

/* v in decimal, zero-padded to at least w digits; two digits per step. */
static char *put_upad(char *p, uint64_t v, int w) {
    int nd = ndigits(v), n = nd > w ? nd : w;
    char *e = p + n, *q = e;
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        q -= 2;
        memcpy(q, DIGITS2 + 2 * r, 2);
    }
    if (v >= 10) q -= 2, memcpy(q, DIGITS2 + 2 * v, 2);
    else *--q = (char)('0' + v);
    while (q > p) *--q = '0';
    return e;
}

static char *put_u(char *p, uint64_t v) { return put_upad(p, v, 1); }

static char *put_str(char *p, const char *s) {
    size_t n = strlen(s);
    memcpy(p, s, n);
    return p + n;
}

static char *put_cents(char *p, int64_t c) {
    if (c < 0) *p++ = '-', c = -c;
    p = put_u(p, (uint64_t)c / 100);
    *p++ = '.';
    *p++ = (char)('0' + c % 100 / 10);
    *p++ = (char)('0' + c % 10);
    return p;
}

/* v with dec decimals, trailing zeros dropped ("0.25", "3", "-31.2304"). */
static char *put_fixed(char *p, double v, int dec) {
    static const double P10[] = {1, 10, 100, 1000, 10000, 100000, 1000000};
    int64_t x = llround(v * P10[dec]);
    if (x < 0) *p++ = '-', x = -x;
    int64_t scale = (int64_t)P10[dec];
    p = put_u(p, (uint64_t)(x / scale));
    int64_t f = x % scale;
    if (f) {
        *p++ = '.';
        char t[8];
        for (int i = dec - 1; i >= 0; i--) t[i] = (char)('0' + f % 10), f /= 10;
        int n = dec;
        while (n > 0 && t[n - 1] == '0') n--;
        memcpy(p, t, (size_t)n);
        p += n;
    }
    return p;
}

/* "YYYY-MM-DDT" of a day since the epoch (Hinnant's civil_from_days; days
 * are >= 0 here, the period is checked to lie after 2000). */
static void date_prefix(int64_t z, char out[11]) {
    z += 719468;
    int64_t era = z / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
    unsigned y = (unsigned)(yoe + era * 400) + (m <= 2);
    put_upad(out, y, 4);
    out[4] = '-', out[5] = (char)('0' + m / 10), out[6] = (char)('0' + m % 10);
    out[7] = '-', out[8] = (char)('0' + d / 10), out[9] = (char)('0' + d % 10);
    out[10] = 'T';
}

/* "YYYY-MM-DDTHH:MM:SSZ"; the date part is cached per day. */
static char *put_iso_c(int64_t *cday, char *pre, char *p, int64_t s) {
    int64_t day = s / DAY_S;
    if (day != *cday) date_prefix(day, pre), *cday = day;
    memcpy(p, pre, 11);
    p += 11;
    unsigned tod = (unsigned)(s - day * DAY_S), h = tod / 3600, m = tod / 60 % 60, sec = tod % 60;
    p[0] = (char)('0' + h / 10), p[1] = (char)('0' + h % 10), p[2] = ':';
    p[3] = (char)('0' + m / 10), p[4] = (char)('0' + m % 10), p[5] = ':';
    p[6] = (char)('0' + sec / 10), p[7] = (char)('0' + sec % 10), p[8] = 'Z';
    return p + 9;
}

static char *put_iso(gen_t *g, char *p, int64_t s) { return put_iso_c(&g->iso_day, g->iso_pre, p, s); }

/* A NUL-terminated ISO time; the cold paths' version of put_iso. */
static void iso_of(int64_t s, char out[32]) {
    int64_t cday = INT64_MIN;
    char pre[16];
    *put_iso_c(&cday, pre, out, s) = 0;
}

/* ---- output files --------------------------------------------------------- */

static int w_open(gen_t *g, const char *name) {
    wr_t *w = &g->w;
    memset(w, 0, sizeof *w);
    size_t n = strlen(g->dir) + strlen(name) + 2;
    w->path = malloc(n);
    w->buf = malloc(WBUF_CAP);
    if (!w->path || !w->buf) {
        free(w->path), free(w->buf);
        w->path = w->buf = NULL;
        tl_errbuf_set(g->eb, "gen: out of memory opening %s", name);
        return TL_ENOMEM;
    }
    snprintf(w->path, n, "%s/%s", g->dir, name);
    w->f = fopen(w->path, "wb");
    if (!w->f) {
        int e = errno;
        tl_errbuf_set(g->eb, "gen: cannot create %s: %s", w->path, strerror(e));
        free(w->path), free(w->buf);
        w->path = w->buf = NULL;
        return tl_err_from_errno(e);
    }
    setvbuf(w->f, NULL, _IOFBF, STDIO_BUF);
    return 0;
}

static void w_flush(wr_t *w) {
    if (w->len && !w->err) {
        errno = 0;
        if (fwrite(w->buf, 1, w->len, w->f) != w->len) {
            w->eno = errno ? errno : EIO;
            w->err = tl_err_from_errno(w->eno);
        }
    }
    w->len = 0;
}

/* Room for n more bytes; returns where to write. n must be < WBUF_CAP. */
static inline char *w_room(wr_t *w, size_t n) {
    if (WBUF_CAP - w->len < n) w_flush(w);
    return w->buf + w->len;
}

static inline void w_done(wr_t *w, char *p) { w->len = (size_t)(p - w->buf); }

static void w_write(wr_t *w, const char *s, size_t n) {
    char *p = w_room(w, n);
    memcpy(p, s, n);
    w_done(w, p + n);
}

static int w_report(gen_t *g) {
    wr_t *w = &g->w;
    if (w->err)
        tl_errbuf_set(g->eb, "gen: writing %s failed: %s", w->path ? w->path : "?",
                      strerror(w->eno));
    return w->err;
}

/* Flushes and closes; reports the first error of the file. */
static int w_close(gen_t *g) {
    wr_t *w = &g->w;
    if (!w->f) return 0;
    w_flush(w);
    if (fclose(w->f) != 0 && !w->err) {
        w->eno = errno ? errno : EIO;
        w->err = tl_err_from_errno(w->eno);
    }
    w->f = NULL;
    int rc = w_report(g);
    free(w->path), free(w->buf);
    w->path = w->buf = NULL;
    return rc;
}

static void w_abort(gen_t *g) {
    wr_t *w = &g->w;
    if (w->f) fclose(w->f);
    free(w->path), free(w->buf);
    memset(w, 0, sizeof *w);
}

/* ---- CSV rows built from fields (cold paths and defects) ------------------ */

static void row_init(row_t *r) { r->nf = 0, r->sl = 0; }

static void row_add(row_t *r, const char *s, size_t n) {
    r->p[r->nf] = s, r->n[r->nf] = n, r->quote[r->nf] = 0;
    r->nf++;
}

/* Copies s into the row's own storage (so the caller's buffer may change). */
static void row_set(row_t *r, int i, const char *s, size_t n) {
    if (n == 0 || n > sizeof r->sc - r->sl) { /* the second never happens */
        r->p[i] = "", r->n[i] = 0;
        return;
    }
    memcpy(r->sc + r->sl, s, n);
    r->p[i] = r->sc + r->sl, r->n[i] = n;
    r->sl += n;
}

static void row_sets(row_t *r, int i, const char *s) { row_set(r, i, s, strlen(s)); }

static void row_addc(row_t *r, const char *s) {
    row_add(r, "", 0);
    row_sets(r, r->nf - 1, s);
}

/* Splits a line without quotes (events) into fields. */
static void row_split(row_t *r, const char *s, size_t n) {
    row_init(r);
    size_t b = 0;
    for (size_t i = 0; i <= n; i++)
        if (i == n || s[i] == ',') row_add(r, s + b, i - b), b = i + 1;
}

static void row_write(wr_t *w, const row_t *r) {
    size_t need = 2;
    for (int i = 0; i < r->nf; i++) need += 2 * r->n[i] + 3;
    char *p = w_room(w, need);
    for (int i = 0; i < r->nf; i++) {
        if (i) *p++ = ',';
        if (r->quote[i]) {
            *p++ = '"';
            for (size_t k = 0; k < r->n[i]; k++) {
                if (r->p[i][k] == '"') *p++ = '"';
                *p++ = r->p[i][k];
            }
            *p++ = '"';
        } else {
            memcpy(p, r->p[i], r->n[i]);
            p += r->n[i];
        }
    }
    *p++ = '\n';
    w_done(w, p);
}

static void header(wr_t *w, const char *h) { w_write(w, h, strlen(h)); }

static void dirty_count(gen_t *g, int kind) { g->dirty_n[kind]++, g->st.dirty++; }

/* ---- users ---------------------------------------------------------------- */

static int age_band(int age) { return age <= 30 ? 0 : age <= 45 ? 1 : 2; }

/* Draws one user's traits and state (everything but credit). */
static void user_draw(gen_t *g, tl_rng_t *r, guser_t *U) {
    memset(U, 0, sizeof *U);
    double u = tl_rng_uniform(r);
    U->gender = u < 0.53 ? 'f' : u < 0.99 ? 'm' : 'o';
    int age;
    u = tl_rng_uniform(r);
    if (u < 0.68) { /* 18-35, peaked in the mid-twenties */
        double t = (tl_rng_uniform(r) + tl_rng_uniform(r)) / 2;
        age = 18 + (int)(t * 18);
    } else if (u < 0.92) {
        age = 36 + (int)tl_rng_below(r, 15);
    } else {
        age = 51 + (int)tl_rng_below(r, 20);
    }
    U->age = (uint8_t)age;
    U->birth_year = (uint16_t)(g->end_year - age);
    U->city = (uint8_t)cum_pick(g->city_cum, NCITY, tl_rng_uniform(r));

    /* education, occupation, income */
    int edu = cum_pick(g->edu_cum, NEDU, tl_rng_uniform(r));
    if (age < 22 && edu > 3) edu = 3;
    U->edu = (uint8_t)edu;
    int occ;
    if (age <= 23 && tl_rng_uniform(r) < 0.55) occ = OCC_STUDENT;
    else if (age >= 55 && tl_rng_uniform(r) < 0.7) occ = OCC_RETIRED;
    else occ = cum_pick(g->occ_cum, NOCC, tl_rng_uniform(r));
    U->occ = (uint8_t)occ;
    double inc = OCCS[occ].income + (edu >= 4 ? 1.0 : edu == 3 ? 0.5 : edu <= 1 ? -0.5 : 0) +
                 (age >= 30 && age <= 50 ? 0.3 : 0) + 0.6 * tl_rng_normal(r);
    U->income = (uint8_t)(inc < 0.8 ? 0 : inc < 1.9 ? 1 : 2);
    U->married = (uint8_t)(tl_rng_uniform(r) < (age < 25 ? 0.12 : age <= 35 ? 0.5 : 0.82));
    if (U->married && age >= 26 && age <= 50 && tl_rng_uniform(r) < 0.6) U->flags |= UF_CHILDREN;

    /* tastes */
    int band = age_band(age), gi = U->gender == 'f' ? 1 : 0;
    double w[NCAT], s = 0;
    int passion = (int)tl_rng_below(r, NCAT);
    for (int c = 0; c < NCAT; c++) {
        double b = U->gender == 'o' ? (TASTE_BASE[band * 2][c] + TASTE_BASE[band * 2 + 1][c]) / 2
                                    : TASTE_BASE[band * 2 + gi][c];
        if (c == 3 && (U->flags & UF_CHILDREN)) b *= 3.0;
        w[c] = b * exp(0.8 * tl_rng_normal(r)) * (c == passion ? 3.0 : 1.0);
        s += w[c];
    }
    double acc = 0;
    for (int c = 0; c < NCAT; c++) acc += w[c] / s, U->taste[c] = (float)acc;
    U->taste[NCAT - 1] = 1.0f;

    U->sens = (float)clampd(0.55 - 0.18 * U->income + (age < 25 ? 0.1 : 0) +
                                0.15 * tl_rng_normal(r), 0.02, 0.98);
    double x = -3.0 + (U->income == 0 ? 0.7 : U->income == 2 ? -0.6 : 0) + (age < 25 ? 0.4 : 0) +
               (occ == 5 || occ == 8 || occ == 9 ? 0.3 : 0) + 0.8 * tl_rng_normal(r);
    U->risk = (float)(1.0 / (1.0 + exp(-x)));
    static const double RESP[NMSG] = {0.05, 0.02, 0.012, 0.07};
    for (int m = 0; m < NMSG; m++) {
        double f = 1.0;
        if (age < 30) f = (m == MSG_PUSH || m == MSG_INAPP) ? 1.3 : m == MSG_SMS ? 0.7 : 0.6;
        else if (age >= 45) f = (m == MSG_SMS) ? 1.6 : m == MSG_EMAIL ? 1.5 : 0.7;
        U->resp[m] = (float)clampd(RESP[m] * f * (0.7 + 0.6 * U->sens) *
                                       exp(0.5 * tl_rng_normal(r)), 0.0005, 0.6);
    }
    U->act = (float)exp(1.1 * tl_rng_normal(r) - 0.605);
    U->vip = (uint8_t)clampd(floor(U->act * 1.2 + U->income + tl_rng_uniform(r)), 0, 5);
    U->pref_chan = (uint8_t)cum_pick(g->ch_cum[band], NCHAN, tl_rng_uniform(r));
    U->pref_hour = (uint8_t)cum_pick(g->hour_cum, 24, tl_rng_uniform(r));
    U->signup = tl_rng_uniform(r) < 0.7 ? U->pref_chan
                                        : (uint8_t)cum_pick(g->ch_cum[band], NCHAN,
                                                            tl_rng_uniform(r));

    /* registration: most before the period, some during it (cold start) */
    double new_share = clampd(0.0033 * g->o.days + 0.01, 0.02, 0.30);
    int hour = cum_pick(g->hour_cum, 24, tl_rng_uniform(r));
    int64_t tod = hour * 3600 + (int64_t)tl_rng_below(r, 3600);
    if (tl_rng_uniform(r) < new_share) {
        int64_t d = (int64_t)tl_rng_below(r, g->o.days);
        U->reg_s = g->start_s + d * DAY_S + tod;
    } else {
        int64_t back = 1 + (int64_t)clampd(tl_rng_exp(r, 500), 0, 3650);
        U->reg_s = g->start_s - back * DAY_S + tod;
        int64_t floor_s = INT64_C(946684800) + DAY_S; /* 2000-01-02 */
        if (U->reg_s < floor_s) U->reg_s = floor_s + tod;
    }
    if (U->reg_s >= g->end_s) U->reg_s = g->end_s - 1;

    /* consents at registration, a few revoked later */
    for (int p = 0; p < NPURP; p++)
        if (tl_rng_uniform(r) < GRANT_P[p]) U->consent |= (uint8_t)(1u << p);
    U->revoke_p = 0xFF;
    if (tl_rng_uniform(r) < 0.04) {
        int p = 1 + (int)tl_rng_below(r, 4);
        if (U->consent & (1u << p)) {
            int64_t from = U->reg_s > g->start_s ? U->reg_s + 1 : g->start_s;
            if (from < g->end_s) {
                U->revoke_p = (uint8_t)p;
                U->revoke_s = from + (int64_t)(tl_rng_uniform(r) * (double)(g->end_s - from));
            }
        }
    }
    if (tl_rng_uniform(r) < HOLDOUT_SHARE) U->flags |= UF_HOLDOUT;
    U->last_item = U->cart_item = NONE32;
    U->next_due = -1;
}

/* Unique, realistic-looking personal fields for user index idx (0-based). */
static unsigned user_personal(gen_t *g, tl_rng_t *r, const guser_t *U, uint64_t idx, char *name,
                              char *phone, char *email, char *idno, tl_hset_t *ids) {
    uint64_t v = (idx * g->name_mul + g->name_add) % g->name_space;
    const char *sur = SURNAMES[v % NSURNAME];
    v /= NSURNAME;
    const char *syl[3];
    for (int i = 0; i < g->name_syl; i++) syl[i] = SYLLABLES[v % NSYL], v /= NSYL;
    char given[32], *p = given;
    for (int i = 0; i < g->name_syl; i++) {
        size_t n = strlen(syl[i]);
        memcpy(p, syl[i], n);
        if (i) *p = (char)(*p - 'A' + 'a');
        p += n;
    }
    *p = 0;
    snprintf(name, 64, "%s %s", sur, given);

    unsigned pre_i = tl_rng_below(r, NPHONE), pre = PHONE_PREFIX[pre_i];
    uint64_t tail = (idx * g->phone_mul + g->phone_add) % 100000000u;
    p = put_u(phone, pre);
    p = put_upad(p, tail, 8);
    *p = 0;

    char ls[24], lg[32];
    size_t k = 0;
    for (const char *q = sur; *q; q++) ls[k++] = (char)(*q | 0x20);
    ls[k] = 0;
    k = 0;
    for (const char *q = given; *q; q++) lg[k++] = (char)(*q | 0x20);
    lg[k] = 0;
    uint64_t num = (idx * g->mail_mul + g->mail_add) % g->mail_space;
    const char *dom = EMAIL_DOMAINS[cum_pick(g->dom_cum, NDOMAIN, tl_rng_uniform(r))];
    switch (tl_rng_below(r, 4)) {
    case 0: snprintf(email, 96, "%s%s%llu@%s", ls, lg, (unsigned long long)num, dom); break;
    case 1: snprintf(email, 96, "%s.%s%llu@%s", lg, ls, (unsigned long long)num, dom); break;
    case 2: snprintf(email, 96, "%c%c%llu@%s", ls[0], lg[0], (unsigned long long)num, dom); break;
    default: snprintf(email, 96, "%s_%c%llu@%s", ls, lg[0], (unsigned long long)num, dom); break;
    }

    /* resident id: region, birth date, sequence (odd for men), check digit */
    unsigned region = CITIES[U->city].region + tl_rng_below(r, 8);
    unsigned month = 1 + tl_rng_below(r, 12), mday = 1 + tl_rng_below(r, 28);
    unsigned seq = tl_rng_below(r, 500) * 2 + (U->gender == 'm' ? 1 : 0);
    uint64_t base = (uint64_t)region * 100000000000ULL + (uint64_t)U->birth_year * 10000000ULL +
                    month * 100000ULL + mday * 1000ULL;
    for (int tries = 0; tries < 500 && ids; tries++) {
        int rc = tl_hset_add(ids, base + seq);
        if (rc != 0) break; /* added (1) or out of memory (<0: uniqueness not checked) */
        seq = (seq + 2) % 1000;
    }
    p = put_upad(idno, base + seq, 17);
    static const int W[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    int sum = 0;
    for (int i = 0; i < 17; i++) sum += (idno[i] - '0') * W[i];
    *p++ = "10X98765432"[sum % 11];
    *p = 0;
    return pre_i;
}

/* Builds a users.csv row; defect is -1 or a D_US_* kind. Returns the index
 * of the phone's prefix. */
static unsigned user_row(gen_t *g, tl_rng_t *r, const guser_t *U, uint64_t idx, int defect,
                     tl_hset_t *ids, wr_t *w) {
    row_t row;
    char id[24], year[8], reg[32], name[64], phone[24], email[96], idno[24], attrs[96];
    char *p = id;
    *p++ = 'u';
    *put_upad(p, idx + 1, 6) = 0;
    *put_u(year, U->birth_year) = 0;
    iso_of(U->reg_s, reg);
    unsigned pre = user_personal(g, r, U, idx, name, phone, email, idno, ids);
    snprintf(attrs, sizeof attrs, "{\"vip_level\":%u,\"marital\":\"%s\",\"children\":%s}", U->vip,
             U->married ? "married" : "single", (U->flags & UF_CHILDREN) ? "true" : "false");
    char gender[2] = {(char)U->gender, 0};
    row_init(&row);
    row_addc(&row, id);
    row_addc(&row, gender);
    row_addc(&row, year);
    row_addc(&row, CITIES[U->city].name);
    row_addc(&row, OCCS[U->occ].name);
    row_addc(&row, EDUS[U->edu]);
    row_addc(&row, reg);
    row_addc(&row, CH_NAMES[U->signup]);
    row_addc(&row, name);
    row_addc(&row, phone);
    row_addc(&row, email);
    row_addc(&row, idno);
    row_addc(&row, attrs);
    row.quote[12] = 1;
    switch (defect) {
    case D_US_BAD_GENDER: {
        static const char *const BAD[] = {"x", "unknown", "?", "fm"};
        row_sets(&row, 1, BAD[tl_rng_below(r, 4)]);
        break;
    }
    case D_US_BAD_EMAIL: {
        char *at = strchr(email, '@');
        if (at) *at = tl_rng_below(r, 2) ? '.' : '#';
        row_sets(&row, 10, email);
        break;
    }
    case D_US_FIELDS: /* 11 or 14 fields */
        if (tl_rng_below(r, 2)) row.nf = 11;
        else row_addc(&row, "extra");
        break;
    case D_US_YEAR_RANGE: row_sets(&row, 2, tl_rng_below(r, 2) ? "1850" : "2091"); break;
    case D_US_BAD_YEAR: {
        year[2] = 'O'; /* "1995" -> "19O5" */
        row_sets(&row, 2, year);
        break;
    }
    case D_US_BAD_TIME: row_sets(&row, 6, tl_rng_below(r, 2) ? "2023-02-30T10:00:00Z" : "last spring"); break;
    default: break;
    }
    row_write(w, &row);
    return pre;
}

static int write_users(gen_t *g) {
    tl_rng_t ru, rd;
    tl_rng_seed(&ru, tl_hash64(&g->o.seed, sizeof g->o.seed, 1));
    tl_rng_seed(&rd, tl_hash64(&g->o.seed, sizeof g->o.seed, 101));
    tl_hset_t ids;
    int rc = tl_hset_init(&ids, g->o.users);
    if (rc) {
        tl_errbuf_set(g->eb, "gen: out of memory for %u users", g->o.users);
        return rc;
    }
    if ((rc = w_open(g, "users.csv"))) {
        tl_hset_fini(&ids);
        return rc;
    }
    wr_t *w = &g->w;
    header(w, "user,gender,birth_year,city,occupation,education,registered_at,channel,name,phone,"
              "email,id_number,attrs\n");
    double pd = g->o.dirty_rate / 3;
    uint64_t extra = 0;
    double wsum = 0, cum[D_US_N];
    for (int k = 0; k < D_US_N; k++) wsum += DIRTY[D_US_FIRST + k].w, cum[k] = wsum;
    for (uint32_t i = 0; i < g->o.users; i++) {
        if (pd > 0 && tl_rng_uniform(&rd) < pd) {
            guser_t X;
            user_draw(g, &rd, &X);
            int k = D_US_FIRST + cum_pick(cum, D_US_N, tl_rng_uniform(&rd) * wsum);
            user_row(g, &rd, &X, (uint64_t)g->o.users + extra++, k, NULL, w);
            dirty_count(g, k);
        }
        guser_t *U = &g->users[i];
        user_draw(g, &ru, U);
        U->phone_pre = (uint8_t)user_row(g, &ru, U, i, -1, &ids, w);
        g->st.users++;
        if (w->err) break;
    }
    tl_hset_fini(&ids);
    return w_close(g);
}

/* ---- items ---------------------------------------------------------------- */

static int build_items(gen_t *g) {
    uint32_t M = g->o.items;
    tl_rng_t r;
    tl_rng_seed(&r, tl_hash64(&g->o.seed, sizeof g->o.seed, 2));
    g->items = calloc(M, sizeof *g->items);
    g->alias = malloc((size_t)M * sizeof *g->alias);
    uint32_t *rank = malloc((size_t)M * sizeof *rank);
    double *pw = malloc((size_t)M * sizeof *pw);
    uint32_t *stk = malloc((size_t)M * sizeof *stk);
    if (!g->items || !g->alias || !rank || !pw || !stk) {
        free(rank), free(pw), free(stk);
        tl_errbuf_set(g->eb, "gen: out of memory for %u items", M);
        return TL_ENOMEM;
    }
    double sw[NSUB], sc[NSUB];
    for (int s = 0; s < NSUB; s++) sw[s] = SUBS[s].weight;
    cum_init(sc, sw, NSUB);
    uint32_t cnt[NSUB] = {0};
    for (uint32_t i = 0; i < M; i++) {
        gitem_t *it = &g->items[i];
        int s = i < (uint32_t)NSUB && M >= (uint32_t)NSUB ? (int)i : cum_pick(sc, NSUB, tl_rng_uniform(&r));
        it->sub = (uint8_t)s;
        it->top = (uint8_t)SUBS[s].top;
        it->brand = (uint8_t)cum_pick(g->brand_cum, NBRAND, tl_rng_uniform(&r));
        double price = SUBS[s].median * BRAND_PRICE[it->brand] * exp(SUBS[s].sigma * tl_rng_normal(&r));
        int64_t cents;
        if (price >= 100) cents = (llround(price / 10) * 10 - 1) * 100; /* 2599.00 */
        else if (price >= 1) cents = llround(price) * 100 - 10;         /* 38.90 */
        else cents = 90;
        if (cents < 90) cents = 90;
        if (cents > 400000000) cents = 400000000;
        it->price = (uint32_t)cents;
        it->rel = (float)log((double)cents / 100.0 / SUBS[s].median);
        cnt[s]++;
        rank[i] = i;
    }
    /* Zipf popularity over a random order of the items. */
    for (uint32_t i = M; i > 1; i--) {
        uint32_t j = tl_rng_below(&r, i), t = rank[i - 1];
        rank[i - 1] = rank[j], rank[j] = t;
    }
    g->sub_off[0] = 0;
    for (int s = 0; s < NSUB; s++) g->sub_off[s + 1] = g->sub_off[s] + cnt[s];
    uint32_t fill[NSUB];
    for (int s = 0; s < NSUB; s++) fill[s] = g->sub_off[s], g->sub_w[s] = 0;
    for (uint32_t i = 0; i < M; i++) {
        int s = g->items[i].sub;
        double pop = 1.0 / pow((double)rank[i] + 1.0, 0.9);
        g->sub_w[s] += pop;
        g->alias[fill[s]].keep = i;
        pw[fill[s]] = pop;
        fill[s]++;
    }
    free(rank);
    /* Vose's alias method, one table per subcategory. */
    for (int s = 0; s < NSUB; s++) {
        uint32_t off = g->sub_off[s], n = g->sub_off[s + 1] - off;
        if (!n) continue;
        uint32_t *small = stk, *large = stk + n; /* grows down from the end */
        uint32_t ns = 0, nl = 0;
        for (uint32_t k = 0; k < n; k++) {
            pw[off + k] = pw[off + k] * n / g->sub_w[s];
            g->alias[off + k].other = g->alias[off + k].keep;
            if (pw[off + k] < 1.0) small[ns++] = k;
            else *--large = k, nl++;
        }
        while (ns && nl) {
            uint32_t a = small[--ns], b = *large;
            g->alias[off + a].cut = (uint32_t)(pw[off + a] * 4294967296.0 > 4294967295.0
                                                   ? 4294967295.0 : pw[off + a] * 4294967296.0);
            g->alias[off + a].other = g->alias[off + b].keep;
            pw[off + b] -= 1.0 - pw[off + a];
            if (pw[off + b] < 1.0) large++, nl--, small[ns++] = b;
        }
        while (nl) g->alias[off + *large].cut = UINT32_MAX, large++, nl--;
        while (ns) g->alias[off + small[--ns]].cut = UINT32_MAX;
    }
    free(pw), free(stk);
    for (int c = 0; c < NCAT; c++) g->top_w[c] = 0;
    for (int s = 0; s < NSUB; s++) g->top_w[SUBS[s].top] += g->sub_w[s];
    cum_init(g->top_cum_all, g->top_w, NCAT);
    return 0;
}

static void item_title(gen_t *g, tl_rng_t *r, const gitem_t *it, char *out, size_t cap) {
    const sub_def_t *S = &SUBS[it->sub];
    const char *brand = BRANDS[it->top][it->brand];
    if (it->top == 8) { /* travel: places, not model numbers */
        const char *a = CITIES[cum_pick(g->city_cum, NCITY, tl_rng_uniform(r))].name;
        const char *b = CITIES[tl_rng_below(r, NCITY)].name;
        if (S->name[0] == 'f') snprintf(out, cap, "%s %s %s-%s", brand, S->kw[0], a, b);
        else snprintf(out, cap, "%s %s %s", brand, S->kw[0], b);
        return;
    }
    static const char *const SUFFIX[] = {"", "", " Pro", " Max", " Lite", " Plus"};
    snprintf(out, cap, "%s %s %c%u%s", brand, S->kw[0], "XSPMAKT"[tl_rng_below(r, 7)],
             1 + tl_rng_below(r, 99), SUFFIX[tl_rng_below(r, 6)]);
}

static void item_attrs(tl_rng_t *r, const gitem_t *it, char *out, size_t cap) {
    static const char *const COLORS[] = {"black", "white", "red", "blue", "grey", "pink"};
    static const char *const SIZES[] = {"S", "M", "L", "XL"};
    const char *color = COLORS[tl_rng_below(r, 6)];
    switch (it->top) {
    case 0: snprintf(out, cap, "{\"color\":\"%s\",\"storage_gb\":%u}", color, 64u << tl_rng_below(r, 4)); break;
    case 1: snprintf(out, cap, "{\"color\":\"%s\",\"size\":\"%s\"}", color, SIZES[tl_rng_below(r, 4)]); break;
    case 5: snprintf(out, cap, "{\"weight_g\":%u}", 100 * (1 + tl_rng_below(r, 20))); break;
    default: snprintf(out, cap, "{\"origin\":\"%s\"}", tl_rng_below(r, 4) ? "domestic" : "imported"); break;
    }
}

static int write_items(gen_t *g) {
    tl_rng_t r, rd;
    tl_rng_seed(&r, tl_hash64(&g->o.seed, sizeof g->o.seed, 3));
    tl_rng_seed(&rd, tl_hash64(&g->o.seed, sizeof g->o.seed, 103));
    int rc = w_open(g, "items.csv");
    if (rc) return rc;
    wr_t *w = &g->w;
    header(w, "item,title,category,brand,price,attrs\n");
    double pd = g->o.dirty_rate / 2;
    uint64_t extra = 0;
    double cum[4], wsum = 0;
    for (int k = 0; k < 4; k++) wsum += DIRTY[D_IT_NEG_PRICE + k].w, cum[k] = wsum;
    for (int k = 0; k < 4; k++) cum[k] /= wsum;
    uint32_t i = 0;
    while (i < g->o.items) {
        int defect = -1;
        const gitem_t *it;
        uint64_t idx;
        tl_rng_t *rr;
        if (pd > 0 && tl_rng_uniform(&rd) < pd) {
            /* a defective extra item (fresh id), drawn from the defect stream;
             * the valid item i still follows */
            it = &g->items[tl_rng_below(&rd, g->o.items)];
            idx = (uint64_t)g->o.items + extra++, rr = &rd;
            defect = D_IT_NEG_PRICE + cum_pick(cum, 4, tl_rng_uniform(&rd));
        } else {
            it = &g->items[i], idx = i++, rr = &r;
        }
        char id[24], title[512], cat[64], price[32], attrs[96];
        char *p = id;
        *p++ = 'i';
        *put_upad(p, idx + 1, 5) = 0;
        item_title(g, rr, it, title, sizeof title);
        snprintf(cat, sizeof cat, "%s/%s", CATS[it->top], SUBS[it->sub].name);
        *put_cents(price, it->price) = 0;
        item_attrs(rr, it, attrs, sizeof attrs);
        row_t row;
        row_init(&row);
        row_addc(&row, id);
        row_addc(&row, title);
        row_addc(&row, cat);
        row_addc(&row, BRANDS[it->top][it->brand]);
        row_addc(&row, price);
        row_addc(&row, attrs);
        row.quote[5] = 1;
        switch (defect) {
        case D_IT_NEG_PRICE: {
            char neg[32];
            *put_cents(neg, -(int64_t)it->price) = 0;
            row_sets(&row, 4, neg);
            break;
        }
        case D_IT_BAD_PRICE: {
            char bad[40];
            if (tl_rng_below(rr, 2)) snprintf(bad, sizeof bad, "¥%s", price);
            else snprintf(bad, sizeof bad, "%s.9", price); /* "199.00.9" */
            row_sets(&row, 4, bad);
            break;
        }
        case D_IT_FIELDS: row.nf = 4; break;
        case D_IT_LONG_TITLE: {
            size_t n = strlen(title);
            while (n < 300) {
                size_t k = strlen(SUBS[it->sub].kw[1]);
                title[n++] = ' ';
                memcpy(title + n, SUBS[it->sub].kw[1], k);
                n += k;
            }
            row_set(&row, 1, title, n);
            break;
        }
        default: break;
        }
        row_write(w, &row);
        if (defect >= 0) dirty_count(g, defect);
        else g->st.items++;
        if (w->err) break;
    }
    return w_close(g);
}

/* ---- products ------------------------------------------------------------- */

static int write_products(gen_t *g) {
    int rc = w_open(g, "products.csv");
    if (rc) return rc;
    wr_t *w = &g->w;
    header(w, "product,kind,name,term_months,apr,amount_min,amount_max,eligibility,disclosure\n");
    for (int i = 0; i < NPRODUCT; i++) {
        const product_def_t *P = &PRODUCTS[i];
        char term[16], apr[24], amin[32], amax[32];
        *put_u(term, (uint64_t)P->term) = 0;
        *put_fixed(apr, P->apr, 4) = 0;
        *put_cents(amin, llround(P->amin * 100)) = 0;
        *put_cents(amax, llround(P->amax * 100)) = 0;
        row_t row;
        row_init(&row);
        row_addc(&row, P->id);
        row_addc(&row, P->kind);
        row_addc(&row, P->name);
        row_addc(&row, term);
        row_addc(&row, apr);
        row_addc(&row, amin);
        row_addc(&row, amax);
        row_addc(&row, P->elig);
        row_addc(&row, P->disc);
        row.quote[2] = strchr(P->name, ',') != NULL;
        row.quote[7] = row.quote[8] = 1;
        row_write(w, &row);
        g->st.products++;
    }
    return w_close(g);
}

/* ---- credit records -------------------------------------------------------- */

static int write_credit(gen_t *g) {
    tl_rng_t r, rd;
    tl_rng_seed(&r, tl_hash64(&g->o.seed, sizeof g->o.seed, 4));
    tl_rng_seed(&rd, tl_hash64(&g->o.seed, sizeof g->o.seed, 104));
    int rc = w_open(g, "credit.csv");
    if (rc) return rc;
    wr_t *w = &g->w;
    header(w, "user,on_time,late,max_overdue_days,debt,income_band,history_months,default\n");
    double pd = g->o.dirty_rate / 20;
    uint64_t unknown = (uint64_t)g->o.users * 2 + 1000; /* ids nobody has */
    for (uint32_t i = 0; i < g->o.users; i++) {
        guser_t *U = &g->users[i];
        if (pd > 0 && tl_rng_uniform(&rd) < pd) {
            char line[128], *p = line;
            *p++ = 'u';
            p = put_upad(p, ++unknown, 6);
            p = put_str(p, ",12,0,0,1500.00,mid,24,0\n");
            w_write(w, line, (size_t)(p - line));
            dirty_count(g, D_CR_UNKNOWN_USER);
        }
        if (tl_rng_uniform(&r) >= 0.6) continue;
        U->flags |= UF_CREDIT;
        double risk = U->risk;
        int maxh = (U->age - 17) * 12;
        int hist = 1 + (int)tl_rng_below(&r, (uint32_t)(maxh < 240 ? maxh : 240));
        int pays = (int)(hist * (0.3 + 0.7 * tl_rng_uniform(&r)));
        double pl = clampd(0.01 + 0.6 * risk, 0, 0.9);
        double lm = pays * pl, ls = sqrt(pays * pl * (1 - pl));
        int late = (int)clampd(llround(lm + ls * tl_rng_normal(&r)), 0, pays);
        int overdue = 0;
        if (late > 0)
            overdue = (int)clampd(1 + tl_rng_exp(&r, 3 + 90 * risk) * (1 + 0.1 * late), 1, 3650);
        /* Leverage, not income, drives debt: riskier borrowers owe more. */
        static const double DEBT_MED[3] = {10000, 16000, 25000};
        double debt = tl_rng_uniform(&r) < 0.15 * (1 - risk)
                          ? 0
                          : DEBT_MED[U->income] * exp(0.6 * tl_rng_normal(&r)) * (0.3 + 8 * risk);
        int deflt = tl_rng_uniform(&r) < risk;
        if (deflt) U->flags |= UF_DEFAULT;
        /* half of them repay an instalment loan during the period */
        if (debt > 0 && tl_rng_uniform(&r) < 0.5) {
            U->flags |= UF_LOAN;
            double inst = clampd(debt / (6 + tl_rng_below(&r, 19)), 50, 20000);
            U->instal = (uint32_t)(llround(inst) * 100);
            U->next_due = (int32_t)tl_rng_below(&r, 30);
        }
        char line[160], *p = line;
        *p++ = 'u';
        p = put_upad(p, (uint64_t)i + 1, 6);
        *p++ = ',';
        p = put_u(p, (uint64_t)(pays - late));
        *p++ = ',';
        p = put_u(p, (uint64_t)late);
        *p++ = ',';
        p = put_u(p, (uint64_t)overdue);
        *p++ = ',';
        p = put_cents(p, llround(debt * 100));
        *p++ = ',';
        p = put_str(p, INCOME_NAMES[U->income]);
        *p++ = ',';
        p = put_u(p, (uint64_t)hist);
        *p++ = ',';
        *p++ = deflt ? '1' : '0';
        *p++ = '\n';
        w_write(w, line, (size_t)(p - line));
        g->st.credit++;
        if (w->err) break;
    }
    return w_close(g);
}

/* ---- consents ------------------------------------------------------------- */

static int write_consents(gen_t *g) {
    tl_rng_t rd;
    tl_rng_seed(&rd, tl_hash64(&g->o.seed, sizeof g->o.seed, 105));
    int rc = w_open(g, "consents.csv");
    if (rc) return rc;
    wr_t *w = &g->w;
    header(w, "user,purpose,status,at\n");
    double pd = g->o.dirty_rate / 20;
    uint64_t unknown = (uint64_t)g->o.users * 3 + 1000;
    char line[128], ts[32];
    for (uint32_t i = 0; i < g->o.users; i++) {
        const guser_t *U = &g->users[i];
        if (pd > 0 && tl_rng_uniform(&rd) < pd) {
            char *p = line;
            *p++ = 'u';
            p = put_upad(p, ++unknown, 6);
            p = put_str(p, ",marketing_push,granted,");
            iso_of(U->reg_s, ts);
            p = put_str(p, ts);
            *p++ = '\n';
            w_write(w, line, (size_t)(p - line));
            dirty_count(g, D_CO_UNKNOWN_USER);
        }
        iso_of(U->reg_s, ts);
        for (int k = 0; k < NPURP; k++) {
            if (!(U->consent & (1u << k))) continue;
            char *p = line;
            *p++ = 'u';
            p = put_upad(p, (uint64_t)i + 1, 6);
            *p++ = ',';
            p = put_str(p, PURPOSES[k]);
            p = put_str(p, ",granted,");
            p = put_str(p, ts);
            *p++ = '\n';
            w_write(w, line, (size_t)(p - line));
            g->st.consents++;
        }
        if (U->revoke_p != 0xFF) {
            char rts[32], *p = line;
            iso_of(U->revoke_s, rts);
            *p++ = 'u';
            p = put_upad(p, (uint64_t)i + 1, 6);
            *p++ = ',';
            p = put_str(p, PURPOSES[U->revoke_p]);
            p = put_str(p, ",revoked,");
            p = put_str(p, rts);
            *p++ = '\n';
            w_write(w, line, (size_t)(p - line));
            g->st.consents++;
        }
        if (w->err) break;
    }
    return w_close(g);
}

/* ---- events: sessions ------------------------------------------------------- */

typedef struct {
    gen_t *g;
    guser_t *U;
    uint32_t uid, t, session;
    int started, day, promo;
    uint8_t chan, campaign, flags, city, slot;
} sess_t;

/* The identifier slot a session of user uid on chan shows (0: the member id). */
static uint8_t sess_slot(const gen_t *g, uint32_t uid, int chan, uint32_t session) {
    return g->ids ? (uint8_t)tl__gen_ids_slot(g->ids, uid, chan, session) : 0;
}

/* Room for one more event of the day; NULL when out of memory. */
static gev_t *ev_new(gen_t *g) {
    if (g->nev == g->capev) {
        size_t nc = g->capev ? g->capev * 2 : 65536;
        gev_t *ne = realloc(g->ev, nc * sizeof *ne);
        if (!ne) return NULL;
        g->ev = ne, g->capev = nc;
    }
    return &g->ev[g->nev++];
}

/* Appends one event to the day; 1 when the session ran past the day's end. */
static int ev_push(sess_t *s, int type, uint32_t item, int64_t amount, int qty, int query,
                   int rating) {
    gen_t *g = s->g;
    if (s->started) s->t += 2 + (uint32_t)tl_rng_exp(&g->rev, 28.0);
    s->started = 1;
    if (s->t >= g->day_len) return 1;
    gev_t *e = ev_new(g);
    if (!e) return TL_ENOMEM;
    e->sec = s->t;
    e->user = s->uid;
    e->item = item;
    e->session = s->session;
    e->amount = amount >= 0 ? (uint32_t)amount : 0;
    e->query = (uint16_t)query;
    e->type = (uint8_t)type;
    e->chan = s->chan;
    e->qty = (uint8_t)qty;
    e->rating = (uint8_t)rating;
    e->campaign = s->campaign;
    e->flags = (uint8_t)(s->flags | (amount >= 0 ? EF_AMOUNT : 0));
    e->city = s->city;
    e->slot = s->slot;
    return 0;
}

#define EMIT(...)                                                                                  \
    do {                                                                                           \
        int rc_ = ev_push(__VA_ARGS__);                                                            \
        if (rc_) return rc_;                                                                       \
    } while (0)

static int pick_cat(sess_t *s) {
    float u = (float)tl_rng_uniform(&s->g->rev);
    for (int c = 0; c < NCAT - 1; c++)
        if (u < s->U->taste[c]) return c;
    return NCAT - 1;
}

static int pick_sub(gen_t *g, int cat) {
    if (g->top_w[cat] <= 0) cat = cum_pick(g->top_cum_all, NCAT, tl_rng_uniform(&g->rev));
    double u = tl_rng_uniform(&g->rev) * g->top_w[cat];
    int last = -1;
    for (int s = 0; s < NSUB; s++) {
        if (SUBS[s].top != cat || g->sub_w[s] <= 0) continue;
        last = s;
        if (u < g->sub_w[s]) return s;
        u -= g->sub_w[s];
    }
    return last;
}

static uint32_t pick_in_sub(gen_t *g, int s) {
    uint32_t off = g->sub_off[s], n = g->sub_off[s + 1] - off;
    uint64_t x = tl_rng_next(&g->rev);
    const alias_t *a = &g->alias[off + (uint32_t)(((x >> 32) * n) >> 32)];
    return (uint32_t)x < a->cut ? a->keep : a->other;
}

/* Popular items first; a price-sensitive user takes the cheaper of two. */
static uint32_t pick_item(sess_t *s, int sub) {
    gen_t *g = s->g;
    uint32_t a = pick_in_sub(g, sub);
    if (tl_rng_uniform(&g->rev) < s->U->sens) {
        uint32_t b = pick_in_sub(g, sub);
        if (g->items[b].price < g->items[a].price) a = b;
    }
    return a;
}

static int pick_qty(gen_t *g, int top) {
    double u = tl_rng_uniform(&g->rev);
    if (top == 3 || top == 5 || top == 9) return u < 0.6 ? 1 : u < 0.85 ? 2 : 3 + (int)tl_rng_below(&g->rev, 4);
    if (top == 8) return u < 0.7 ? 1 : u < 0.95 ? 2 : 3;
    return u < 0.92 ? 1 : u < 0.98 ? 2 : 3;
}

static int buy(sess_t *s, uint32_t item, int qty) {
    gen_t *g = s->g;
    guser_t *U = s->U;
    const gitem_t *it = &g->items[item];
    int64_t amount = (int64_t)it->price * qty;
    double pc = clampd((0.08 + 0.25 * U->sens) * (s->promo ? 2.5 : 1.0), 0, 0.9);
    if (tl_rng_uniform(&g->rev) < pc) {
        static const int OFF[] = {500, 1000, 2000, 5000};
        int64_t off = OFF[tl_rng_below(&g->rev, 4)];
        if (off > amount / 5) off = (amount / 5 / 100) * 100;
        if (off < 100) off = 100;
        EMIT(s, EV_COUPON, item, off, 0, 0, 0);
    }
    EMIT(s, EV_PURCHASE, item, amount, qty, 0, 0);
    U->last_item = item;
    U->last_amount = (uint32_t)amount;
    U->last_qty = (uint8_t)qty;
    U->flags &= (uint8_t)~(UF_REVIEW | UF_REFUND);
    if (tl_rng_uniform(&g->rev) < 0.035) {
        U->flags |= UF_REFUND;
        U->refund_day = s->day + 1 + (int)tl_rng_below(&g->rev, 10);
    }
    if (tl_rng_uniform(&g->rev) < 0.35) {
        U->flags |= UF_REVIEW;
        U->review_day = s->day + 2 + (int)tl_rng_below(&g->rev, 12);
    }
    return 0;
}

static int view(sess_t *s, uint32_t item) {
    gen_t *g = s->g;
    guser_t *U = s->U;
    const gitem_t *it = &g->items[item];
    EMIT(s, EV_VIEW, item, -1, 0, 0, 0);
    double u = tl_rng_uniform(&g->rev);
    if (u < 0.03) EMIT(s, EV_FAV, item, -1, 0, 0, 0);
    else if (u < 0.042) EMIT(s, EV_SHARE, item, -1, 0, 0, 0);
    double pm = exp(-U->sens * 0.9 * it->rel);
    double pcart = 0.085 * clampd(pm, 0.4, 1.8) * (s->promo ? 1.3 : 1.0);
    if (tl_rng_uniform(&g->rev) < pcart) {
        int qty = pick_qty(g, it->top);
        EMIT(s, EV_CART, item, -1, qty, 0, 0);
        double pb = 0.27 * clampd(exp(-U->sens * 1.2 * it->rel), 0.3, 2.0) *
                    (s->promo ? 1.4 : 1.0) * (s->campaign ? 1.2 : 1.0);
        if (tl_rng_uniform(&g->rev) < clampd(pb, 0, 0.95)) {
            if (tl_rng_uniform(&g->rev) < 0.72) {
                int rc = buy(s, item, qty);
                if (rc) return rc;
            } else {
                U->flags |= UF_CART;
                U->cart_item = item;
                U->cart_qty = (uint8_t)qty;
            }
        }
    }
    if (it->price >= 200000) { /* >= 2000 CNY: maybe finance it */
        double pl = 0.03 * (1 + 3 * U->risk) * (s->promo ? 2.0 : 1.0);
        if (tl_rng_uniform(&g->rev) < pl)
            EMIT(s, EV_LOAN, item, ((int64_t)it->price / 10000 + 1) * 10000, 0, 0, 0);
    }
    return 0;
}

static int intent(sess_t *s) {
    gen_t *g = s->g;
    int sub = pick_sub(g, pick_cat(s));
    if (sub < 0) return 0;
    if (tl_rng_uniform(&g->rev) < 0.28) {
        int q = sub * 8 + (tl_rng_uniform(&g->rev) < 0.7 ? (int)tl_rng_below(&g->rev, 3)
                                                          : 3 + (int)tl_rng_below(&g->rev, 5));
        EMIT(s, EV_SEARCH, NONE32, -1, 0, q + 1, 0);
        int nclick = 1 + (tl_rng_uniform(&g->rev) < 0.5) + (tl_rng_uniform(&g->rev) < 0.2);
        for (int k = 0; k < nclick; k++) {
            uint32_t item = pick_item(s, sub);
            EMIT(s, EV_CLICK, item, -1, 0, 0, 0);
            int rc = view(s, item);
            if (rc) return rc;
        }
    }
    int nview = 1;
    while (nview < 8 && tl_rng_uniform(&g->rev) < 0.5) nview++;
    for (int k = 0; k < nview; k++) {
        uint32_t item = pick_item(s, sub);
        if (tl_rng_uniform(&g->rev) < 0.3) EMIT(s, EV_CLICK, item, -1, 0, 0, 0);
        int rc = view(s, item);
        if (rc) return rc;
    }
    return 0;
}

static int session_run(sess_t *s) {
    gen_t *g = s->g;
    guser_t *U = s->U;
    if ((U->flags & UF_REFUND) && s->day >= U->refund_day) {
        U->flags &= (uint8_t)~UF_REFUND;
        EMIT(s, EV_REFUND, U->last_item, U->last_amount, U->last_qty, 0, 0);
        if (U->flags & UF_REVIEW) { /* an unhappy review follows a refund */
            U->flags &= (uint8_t)~UF_REVIEW;
            EMIT(s, EV_REVIEW, U->last_item, -1, 0, 0, 1 + (int)tl_rng_below(&g->rev, 2));
        }
    }
    if ((U->flags & UF_REVIEW) && s->day >= U->review_day) {
        U->flags &= (uint8_t)~UF_REVIEW;
        double u = tl_rng_uniform(&g->rev);
        int rating = u < 0.55 ? 5 : u < 0.82 ? 4 : u < 0.92 ? 3 : u < 0.96 ? 2 : 1;
        EMIT(s, EV_REVIEW, U->last_item, -1, 0, 0, rating);
    }
    if (U->flags & UF_CART) {
        U->flags &= (uint8_t)~UF_CART;
        if (tl_rng_uniform(&g->rev) < 0.65) {
            EMIT(s, EV_VIEW, U->cart_item, -1, 0, 0, 0);
            int rc = buy(s, U->cart_item, U->cart_qty);
            if (rc) return rc;
        }
    }
    int n = 1;
    while (n < 6 && tl_rng_uniform(&g->rev) < 0.45) n++;
    for (int k = 0; k < n; k++) {
        int rc = intent(s);
        if (rc) return rc;
    }
    return 0;
}

/* Offset in the day window of a clock time of day (seconds). */
static uint32_t clock_to_off(gen_t *g, int64_t tod) {
    int64_t ws_tod = g->day_s % DAY_S;
    return (uint32_t)(((tod - ws_tod) % DAY_S + DAY_S) % DAY_S);
}

static uint32_t session_start(gen_t *g, const guser_t *U) {
    int hour;
    if (tl_rng_uniform(&g->rev) < 0.6)
        hour = ((int)U->pref_hour + (int)lround(1.3 * tl_rng_normal(&g->rev)) + 48) % 24;
    else hour = cum_pick(g->hour_cum, 24, tl_rng_uniform(&g->rev));
    return clock_to_off(g, hour * 3600 + (int64_t)tl_rng_below(&g->rev, 3600));
}

static int start_session(gen_t *g, uint32_t uid, uint32_t t, int chan, int campaign, int day) {
    guser_t *U = &g->users[uid];
    sess_t s = {.g = g, .U = U, .uid = uid, .t = t, .session = ++g->session, .day = day,
                .promo = day == g->promo_day, .chan = (uint8_t)chan,
                .campaign = (uint8_t)campaign, .city = U->city};
    if (chan == CH_STORE || (chan == CH_APP && tl_rng_uniform(&g->rev) < 0.3)) s.flags |= EF_GEO;
    if (chan == CH_STORE || tl_rng_uniform(&g->rev) < 0.03) s.flags |= EF_UNIX;
    s.slot = sess_slot(g, uid, chan, s.session);
    int rc = session_run(&s);
    return rc < 0 ? rc : 0;
}

static int pick_chan(gen_t *g, const guser_t *U) {
    if (tl_rng_uniform(&g->rev) < 0.75) return U->pref_chan;
    return cum_pick(g->ch_cum[age_band(U->age)], NCHAN, tl_rng_uniform(&g->rev));
}

/* A login drawn for this day (tl__gen_ids_day): an identify event of its
 * own, without a session; it draws nothing from the events' stream. */
static int day_login(uint32_t person, int slot, uint32_t sec, void *arg) {
    gen_t *g = arg;
    gev_t *e = ev_new(g);
    if (!e) return TL_ENOMEM;
    memset(e, 0, sizeof *e);
    e->sec = sec;
    e->user = person;
    e->item = NONE32;
    e->type = EV_IDENTIFY;
    e->chan = (uint8_t)tl__gen_ids_chan(g->ids, person, slot);
    e->flags = EF_NOSESS;
    e->city = g->users[person].city;
    e->slot = (uint8_t)slot;
    return 0;
}

/* All of one day's events for every user, unsorted. */
static int day_generate(gen_t *g, int d) {
    static const int SEND_HOUR[NMSG] = {20, 10, 9, 21};
    double dayf = WEEKDAY_W[((g->day_s / DAY_S) % 7 + 11) % 7]; /* 1970-01-01 was a Thursday */
    double sendp = SEND_P;
    if (d == g->promo_day) dayf *= 4.0, sendp = SEND_P_PROMO;
    else if (d == g->promo_day - 1) dayf *= 1.4, sendp = SEND_P_PRE;
    else if (d == g->promo_day + 1) dayf *= 1.3;
    double base = VISIT_BASE * dayf;
    int64_t send_off[NMSG];
    for (int m = 0; m < NMSG; m++) send_off[m] = clock_to_off(g, SEND_HOUR[m] * 3600);
    if (g->ids) {
        int rc = tl__gen_ids_day(g->ids, (uint32_t)d, day_login, g);
        if (rc) return rc;
    }
    for (uint32_t u = 0; u < g->o.users; u++) {
        uhot_t *h = &g->hot[u];
        if (h->reg_day > d) continue;
        double lam = base * h->act;
        int reg_today = h->reg_day == d;
        int rc;
        /* one 64-bit draw gives both daily coin flips (visit, message) */
        uint64_t x = tl_rng_next(&g->rev);
        double u_visit = (double)(x >> 32) * 0x1p-32, u_send = (double)(uint32_t)x * 0x1p-32;
        /* visit with probability lam / (1 + lam), without dividing */
        if (u_visit * (1 + lam) < lam || reg_today) {
            double p1 = lam / (1 + lam);
            guser_t *U = &g->users[u];
            uint32_t reg_off = reg_today ? (uint32_t)(U->reg_s - g->day_s) : 0;
            int n = 1;
            while (n < 6 && tl_rng_uniform(&g->rev) < p1 * 0.6) n++;
            for (int k = 0; k < n; k++) {
                uint32_t t = session_start(g, U);
                if (reg_today && (k == 0 || t <= reg_off)) t = reg_off + 30 + tl_rng_below(&g->rev, 600);
                if (t >= g->day_len) continue;
                if ((rc = start_session(g, u, t, pick_chan(g, U), 0, d))) return rc;
            }
        }
        /* marketing message: only with consent, never to the hold-out */
        if (u_send < sendp && !(h->flags & UF_HOLDOUT)) {
            int m = (int)tl_rng_below(&g->rev, NMSG);
            int p = MSG_PURPOSE[m];
            int64_t send_s = g->day_s + send_off[m];
            int ok = (h->consent >> p) & 1;
            if (ok && h->revoke_p == p && g->users[u].revoke_s <= send_s) ok = 0;
            if (ok && reg_today && g->users[u].reg_s >= send_s) ok = 0;
            if (ok && tl_rng_uniform(&g->rev) < h->resp[m]) {
                double delay = m == MSG_EMAIL ? tl_rng_exp(&g->rev, 7200) : tl_rng_exp(&g->rev, 1200);
                uint32_t t = (uint32_t)(send_s - g->day_s) + 10 + (uint32_t)delay;
                int chan = m == MSG_PUSH || m == MSG_INAPP ? CH_APP
                                                           : (tl_rng_below(&g->rev, 2) ? CH_WEB : CH_MINI);
                if (t < g->day_len && (rc = start_session(g, u, t, chan, m + 1, d))) return rc;
            }
        }
        /* instalment repayments, late by risk; defaulters stop paying */
        if (h->repay_day == d) {
            guser_t *U = &g->users[u];
            uint32_t t = session_start(g, U);
            sess_t s = {.g = g, .U = U, .uid = u, .t = t, .session = ++g->session, .day = d,
                        .chan = (uint8_t)(tl_rng_uniform(&g->rev) < 0.8 ? CH_APP : CH_WEB),
                        .city = U->city};
            s.slot = sess_slot(g, u, s.chan, s.session);
            rc = ev_push(&s, EV_REPAY, NONE32, U->instal, 0, 0, 0);
            if (rc < 0) return rc;
            U->next_due += 30;
            double pl = clampd(0.03 + 1.5 * U->risk, 0, 0.8);
            int late = tl_rng_uniform(&g->rev) < pl ? 1 + (int)clampd(tl_rng_exp(&g->rev, 2 + 20 * U->risk), 0, 25) : 0;
            h->repay_day = U->next_due + late;
        }
    }
    return 0;
}

/* ---- events: output ---------------------------------------------------------- */

static char *fmt_event(gen_t *g, const gev_t *e, uint64_t id, char *p) {
    *p++ = 'e';
    p = put_upad(p, id, 10);
    *p++ = ',';
    if (e->slot && e->type != EV_IDENTIFY) p = tl__gen_ids_put(g->ids, e->user, e->slot, p);
    else *p++ = 'u', p = put_upad(p, (uint64_t)e->user + 1, 6);
    *p++ = ',';
    if (e->item != NONE32) *p++ = 'i', p = put_upad(p, (uint64_t)e->item + 1, 5);
    *p++ = ',';
    memcpy(p, EV_NAMES[e->type], g->type_len[e->type]);
    p += g->type_len[e->type];
    *p++ = ',';
    int64_t ts = g->day_s + e->sec;
    p = (e->flags & EF_UNIX) ? put_u(p, (uint64_t)ts) : put_iso(g, p, ts);
    *p++ = ',';
    memcpy(p, CH_NAMES[e->chan], g->chan_len[e->chan]);
    p += g->chan_len[e->chan];
    *p++ = ',';
    if (e->flags & EF_AMOUNT) p = put_cents(p, e->amount);
    *p++ = ',';
    if (e->qty) p = put_u(p, e->qty);
    *p++ = ',';
    if (e->query) {
        uint32_t a = g->qoff[e->query - 1], b = g->qoff[e->query];
        memcpy(p, g->qarena + a, b - a);
        p += b - a;
    }
    *p++ = ',';
    if (e->rating) p = put_u(p, e->rating);
    *p++ = ',';
    memcpy(p, CITIES[e->city].name, g->city_len[e->city]);
    p += g->city_len[e->city];
    *p++ = ',';
    if (e->flags & EF_GEO) {
        /* where the session happens, plus a few metres of GPS noise */
        uint64_t h = mix64((uint64_t)e->session ^ 0x5bd1e995u), h2 = mix64(h ^ e->sec);
        double jl = ((double)(h & 0xFFFF) / 65536.0 - 0.5) * 0.2 +
                    ((double)(h2 & 0xFF) / 256.0 - 0.5) * 0.0004;
        double jo = ((double)((h >> 16) & 0xFFFF) / 65536.0 - 0.5) * 0.2 +
                    ((double)((h2 >> 8) & 0xFF) / 256.0 - 0.5) * 0.0004;
        p = put_fixed(p, CITIES[e->city].lat + jl, 4);
        *p++ = ',';
        p = put_fixed(p, CITIES[e->city].lon + jo, 4);
    } else {
        *p++ = ',';
    }
    *p++ = ',';
    if (!(e->flags & EF_NOSESS)) *p++ = 's', p = put_upad(p, e->session, 9);
    *p++ = ',';
    if (e->campaign) p = put_str(p, g->camp[e->campaign - 1]);
    if (g->ids) {
        *p++ = ',';
        if (e->type == EV_IDENTIFY) p = tl__gen_ids_put(g->ids, e->user, e->slot, p);
    }
    *p++ = '\n';
    return p;
}

static void set_purchase(gen_t *g, row_t *row, const gev_t *e, int64_t amount_sign) {
    tl_rng_t *r = &g->rdirty;
    uint32_t item = e->item != NONE32 ? e->item : tl_rng_below(r, g->o.items);
    char buf[32], *p = buf;
    *p++ = 'i';
    p = put_upad(p, (uint64_t)item + 1, 5);
    row_set(row, 2, buf, (size_t)(p - buf));
    row_sets(row, 3, "purchase");
    p = put_cents(buf, amount_sign * (int64_t)g->items[item].price);
    row_set(row, 6, buf, (size_t)(p - buf));
    row_sets(row, 7, "1");
    row_sets(row, 8, "");
    row_sets(row, 9, "");
}

/* A copy of a valid event with a fresh id and exactly one defect. */
static void write_dirty_event(gen_t *g, const gev_t *e) {
    tl_rng_t *r = &g->rdirty;
    char line[1024];
    char *end = fmt_event(g, e, ++g->eid, line);
    row_t row;
    row_split(&row, line, (size_t)(end - line - 1));
    double u = tl_rng_uniform(r) * g->ev_dirty_cum[D_EV_N - 1];
    int kind = 0;
    while (kind < D_EV_N - 1 && u >= g->ev_dirty_cum[kind]) kind++;
    char iso[32], buf[512];
    int64_t ts = g->day_s + e->sec;
    iso_of(ts, iso);
    const city_def_t *C = &CITIES[e->city];
    switch (kind) {
    case D_EV_FIELDS_SHORT: row.nf--; break;
    case D_EV_FIELDS_LONG: /* a trailing comma, or one value too many */
        if (tl_rng_below(r, 2)) row_add(&row, "", 0);
        else row_add(&row, "1", 1);
        break;
    case D_EV_BAD_AMOUNT: {
        set_purchase(g, &row, e, 1);
        char a[32];
        memcpy(a, row.p[6], row.n[6]);
        a[row.n[6]] = 0;
        switch (tl_rng_below(r, 3)) {
        case 0: snprintf(buf, sizeof buf, "¥%s", a); break;
        case 1: snprintf(buf, sizeof buf, "%s元", a); break;
        default: snprintf(buf, sizeof buf, "%s.5", a); break;
        }
        row_sets(&row, 6, buf);
        break;
    }
    case D_EV_BAD_QTY: {
        static const char *const Q[] = {"two", "1x", "一", "1.5.0"};
        row_sets(&row, 7, Q[tl_rng_below(r, 4)]);
        break;
    }
    case D_EV_BAD_TIME:
        switch (tl_rng_below(r, 4)) {
        case 0: iso[4] = iso[7] = '/', iso[10] = ' ', iso[19] = 0; break; /* 2025/11/03 20:15:07 */
        case 1: iso[11] = '2', iso[12] = '5'; break;                     /* hour 25 */
        case 2: iso[5] = '1', iso[6] = '3'; break;                       /* month 13 */
        default: strcpy(iso, "yesterday"); break;
        }
        row_sets(&row, 4, iso);
        break;
    case D_EV_TIME_OLD:
        switch (tl_rng_below(r, 3)) {
        case 0: memcpy(iso, "1988", 4); break; /* a leap year: any date stays valid */
        case 1: strcpy(iso, "0"); break;
        default: strcpy(iso, "567648000"); break; /* 1987-12-27 in unix seconds */
        }
        row_sets(&row, 4, iso);
        break;
    case D_EV_TIME_FUTURE:
        if (tl_rng_below(r, 3) == 0) strcpy(iso, "4102444800000"); /* 2100-01-01, unix ms */
        else memcpy(iso, (iso[5] == '0' && iso[6] == '2' && iso[8] == '2' && iso[9] == '9') ? "2096" : "2099", 4);
        row_sets(&row, 4, iso);
        break;
    case D_EV_UNKNOWN_TYPE: {
        static const char *const T[] = {"checkout", "pageview", "teleport", "login", "logout"};
        row_sets(&row, 3, T[tl_rng_below(r, 5)]);
        break;
    }
    case D_EV_UNKNOWN_CHANNEL: {
        static const char *const CH[] = {"kiosk", "tv", "fax", "carrier_pigeon", "billboard"};
        row_sets(&row, 5, CH[tl_rng_below(r, 5)]);
        break;
    }
    case D_EV_NEG_AMOUNT: set_purchase(g, &row, e, -1); break;
    case D_EV_NO_USER: row_sets(&row, 1, ""); break;
    case D_EV_NO_TYPE: row_sets(&row, 3, ""); break;
    case D_EV_NO_TS: row_sets(&row, 4, ""); break;
    case D_EV_BAD_UTF8:
        switch (tl_rng_below(r, 3)) {
        case 0: { /* a city name cut inside its last UTF-8 character */
            size_t n = strlen(C->zh);
            row_set(&row, 10, C->zh, n - 1);
            break;
        }
        case 1: { /* "Xi'an" etc. in Latin-1 with an accent */
            snprintf(buf, sizeof buf, "%s\xe9", C->name);
            row_sets(&row, 10, buf);
            break;
        }
        default: /* a GBK-encoded query ("手机") */
            row_sets(&row, 3, "search");
            row_sets(&row, 2, "");
            row_sets(&row, 6, "");
            row_sets(&row, 7, "");
            row_sets(&row, 9, "");
            row_sets(&row, 8, "\xca\xd6\xbb\xfa");
            break;
        }
        break;
    case D_EV_LONG_QUERY: {
        size_t n = 0, want = 257 + tl_rng_below(r, 200);
        while (n < want) {
            const char *kw = SUBS[tl_rng_below(r, NSUB)].kw[tl_rng_below(r, 3)];
            size_t k = strlen(kw);
            if (n) buf[n++] = ' ';
            memcpy(buf + n, kw, k);
            n += k;
        }
        row_sets(&row, 3, "search");
        row_sets(&row, 2, "");
        row_sets(&row, 6, "");
        row_sets(&row, 7, "");
        row_sets(&row, 9, "");
        row_set(&row, 8, buf, n);
        break;
    }
    case D_EV_RATING_RANGE: {
        static const char *const R[] = {"11", "12", "-1", "10.5", "100"};
        uint32_t item = e->item != NONE32 ? e->item : tl_rng_below(r, g->o.items);
        char *p = buf;
        *p++ = 'i';
        p = put_upad(p, (uint64_t)item + 1, 5);
        row_set(&row, 2, buf, (size_t)(p - buf));
        row_sets(&row, 3, "review");
        row_sets(&row, 6, "");
        row_sets(&row, 7, "");
        row_sets(&row, 8, "");
        row_sets(&row, 9, R[tl_rng_below(r, 5)]);
        break;
    }
    case D_EV_QTY_ZERO: row_sets(&row, 7, "0"); break;
    case D_EV_LAT_RANGE: {
        char *p = put_fixed(buf, tl_rng_below(r, 2) ? 95.5 : -91.25, 4);
        row_set(&row, 11, buf, (size_t)(p - buf));
        p = put_fixed(buf, C->lon, 4);
        row_set(&row, 12, buf, (size_t)(p - buf));
        break;
    }
    case D_EV_LAT_NO_LON: {
        int lat = tl_rng_below(r, 2);
        char *p = put_fixed(buf, lat ? C->lat : C->lon, 4);
        row_set(&row, lat ? 11 : 12, buf, (size_t)(p - buf));
        row_sets(&row, lat ? 12 : 11, "");
        break;
    }
    case D_EV_BAD_ID: {
        char *p = buf;
        memcpy(p, row.p[1], row.n[1]);
        p += row.n[1];
        p[0] = p[-1], p[-1] = tl_rng_below(r, 2) ? '\x01' : '\x1b';
        row_set(&row, 1, buf, (size_t)(p + 1 - buf));
        break;
    }
    default: break;
    }
    row_write(&g->w, &row);
    dirty_count(g, kind);
}

static void write_valid(gen_t *g, const gev_t *e, uint64_t id) {
    char *p = w_room(&g->w, 1024);
    w_done(&g->w, fmt_event(g, e, id, p));
}

enum { MAXDUP = 32 };

typedef struct {
    dup_t pend[MAXDUP]; /* duplicates waiting to be written */
    int npend;
    double pdirty, pdup;
} day_out_t;

/* Writes valid event e (the k-th of the day), maybe after a defective copy,
 * and maybe schedules its duplicate. */
static void put_event(gen_t *g, day_out_t *o, const gev_t *e, size_t k) {
    double u_dirty = 1, u_dup = 1;
    if (g->o.dirty_rate > 0) { /* one draw, two coin flips */
        uint64_t x = tl_rng_next(&g->rdirty);
        u_dirty = (double)(x >> 32) * 0x1p-32, u_dup = (double)(uint32_t)x * 0x1p-32;
    }
    if (u_dirty < o->pdirty) write_dirty_event(g, e);
    uint64_t id = ++g->eid;
    write_valid(g, e, id);
    g->n_valid++;
    g->type_n[e->type]++;
    if (u_dup < o->pdup && o->npend < MAXDUP)
        o->pend[o->npend++] = (dup_t){*e, id, k + 1 + tl_rng_below(&g->rdirty, 40)};
}

/* The login an event's identifier needs before it (tl__gen_ids_use), or a
 * drawn login not yet written; 0 when there is nothing to write. */
static int login_before(gen_t *g, const gev_t *e, gev_t *login) {
    if (e->type == EV_IDENTIFY) return tl__gen_ids_login(g->ids, e->user, e->slot) ? (*login = *e, 1) : 0;
    if (!tl__gen_ids_use(g->ids, e->user, e->slot)) return 0;
    *login = *e; /* in the same session, the same second */
    login->type = EV_IDENTIFY;
    login->item = NONE32;
    login->amount = 0;
    login->query = 0;
    login->qty = login->rating = login->campaign = 0;
    login->flags &= (uint8_t)~EF_AMOUNT;
    return 1;
}

/* Orders the day by second (stable) and writes it with defects and
 * duplicates interleaved, and the logins where they fall. */
static void day_write(gen_t *g) {
    uint32_t *cnt = g->cnt;
    memset(cnt, 0, (DAY_S + 1) * sizeof *cnt);
    for (size_t i = 0; i < g->nev; i++) cnt[g->ev[i].sec + 1]++;
    for (int s = 0; s < DAY_S; s++) cnt[s + 1] += cnt[s];
    for (size_t i = 0; i < g->nev; i++) g->order[cnt[g->ev[i].sec]++] = (uint32_t)i;

    double rate = g->o.dirty_rate;
    day_out_t o = {.pdirty = rate > 0 ? rate / (1 - rate) : 0, .pdup = rate / 4};
    for (size_t k = 0; k < g->nev; k++) {
        const gev_t *e = &g->ev[g->order[k]];
        if (g->ids && e->slot) {
            gev_t login;
            int drawn = e->type == EV_IDENTIFY;
            if (login_before(g, e, &login)) put_event(g, &o, &login, k);
            if (drawn) continue;
        }
        put_event(g, &o, e, k);
        for (int i = 0; i < o.npend;) {
            if (o.pend[i].due <= k) {
                write_valid(g, &o.pend[i].ev, o.pend[i].id);
                g->n_dup++;
                o.pend[i] = o.pend[--o.npend];
            } else {
                i++;
            }
        }
    }
    for (int i = 0; i < o.npend; i++) write_valid(g, &o.pend[i].ev, o.pend[i].id), g->n_dup++;
}

static int write_events(gen_t *g) {
    tl_rng_seed(&g->rev, tl_hash64(&g->o.seed, sizeof g->o.seed, 5));
    tl_rng_seed(&g->rdirty, tl_hash64(&g->o.seed, sizeof g->o.seed, 106));
    double acc = 0;
    for (int k = 0; k < D_EV_N; k++) acc += DIRTY[k].w, g->ev_dirty_cum[k] = acc;
    g->cnt = malloc((DAY_S + 1) * sizeof *g->cnt);
    g->hot = malloc((size_t)g->o.users * sizeof *g->hot);
    if (!g->cnt || !g->hot) {
        tl_errbuf_set(g->eb, "gen: out of memory for the event generator");
        return TL_ENOMEM;
    }
    for (uint32_t u = 0; u < g->o.users; u++) {
        const guser_t *U = &g->users[u];
        uhot_t *h = &g->hot[u];
        h->act = U->act;
        int64_t rd = U->reg_s - g->start_s;
        h->reg_day = (int32_t)(rd >= 0 ? rd / DAY_S : -1 - (-rd - 1) / DAY_S);
        h->flags = U->flags;
        h->consent = U->consent;
        h->revoke_p = U->revoke_p;
        h->pad = 0;
        memcpy(h->resp, U->resp, sizeof h->resp);
        h->repay_day = -1;
        if ((U->flags & UF_LOAN) && !(U->flags & UF_DEFAULT) && h->reg_day < 0)
            h->repay_day = U->next_due;
    }
    int rc = w_open(g, "events.csv");
    if (rc) return rc;
    wr_t *w = &g->w;
    header(w, g->ids ? "event_id,user,item,type,ts,channel,amount,qty,query,rating,city,lat,lon,"
                       "session,campaign,alias\n"
                     : "event_id,user,item,type,ts,channel,amount,qty,query,rating,city,lat,lon,"
                       "session,campaign\n");
    g->day_len = DAY_S;
    for (int d = 0; d < (int)g->o.days; d++) {
        g->day_s = g->start_s + (int64_t)d * DAY_S;
        g->nev = 0;
        char date[32];
        iso_of(g->day_s, date);
        for (int m = 0; m < NMSG; m++)
            snprintf(g->camp[m], sizeof g->camp[m], "%s%.4s%.2s%.2s_%s",
                     d == g->promo_day ? "promo_" : "cmp_", date, date + 5, date + 8, MSG_NAMES[m]);
        if ((rc = day_generate(g, d))) {
            w_abort(g);
            tl_errbuf_set(g->eb, "gen: out of memory generating day %d", d);
            return rc;
        }
        if (g->nev > UINT32_MAX) {
            w_abort(g);
            tl_errbuf_set(g->eb, "gen: more than 2^32 events in one day");
            return TL_ERANGE;
        }
        uint32_t *no = realloc(g->order, (g->nev ? g->nev : 1) * sizeof *no);
        if (!no) {
            w_abort(g);
            tl_errbuf_set(g->eb, "gen: out of memory sorting day %d", d);
            return TL_ENOMEM;
        }
        g->order = no;
        day_write(g);
        if (w->err) break;
    }
    g->st.events = g->n_valid;
    return w_close(g);
}

/* ---- identifiers (identities.c) and identities.truth ------------------------------ */

/* Draws every person's identifiers, once users.csv is written. */
static int ids_setup(gen_t *g) {
    int rc = tl__gen_ids_new(g->o.users, g->o.identifiers, g->o.seed, g->start_s, g->o.days, &g->ids);
    for (uint32_t i = 0; !rc && i < g->o.users; i++) {
        const guser_t *U = &g->users[i];
        uint64_t phone = PHONE_PREFIX[U->phone_pre] * UINT64_C(100000000) +
                         ((uint64_t)i * g->phone_mul + g->phone_add) % 100000000u;
        rc = tl__gen_ids_person(g->ids, i, U->pref_chan, phone, U->reg_s);
    }
    if (!rc) rc = tl__gen_ids_ready(g->ids);
    if (rc) tl_errbuf_set(g->eb, "gen: out of memory for the identifiers of %u users", g->o.users);
    return rc;
}

static int identity_row(uint32_t person, int slot, void *arg) {
    gen_t *g = arg;
    char *p0 = w_room(&g->w, 64), *p = p0;
    if (slot) p = tl__gen_ids_put(g->ids, person, slot, p);
    else *p++ = 'u', p = put_upad(p, (uint64_t)person + 1, 6);
    *p++ = ',';
    *p++ = 'u';
    p = put_upad(p, (uint64_t)person + 1, 6);
    *p++ = '\n';
    w_done(&g->w, p);
    return g->w.err;
}

/* identities.truth: every identifier of the files with its true person. */
static int write_identities(gen_t *g) {
    int rc = w_open(g, "identities.truth");
    if (rc) return rc;
    header(&g->w, "identifier,person\n");
    tl__gen_ids_each(g->ids, identity_row, g, &g->ids_n);
    return w_close(g);
}

/* ---- truth.json --------------------------------------------------------------- */

static void jstr(tl_buf_t *b, const char *s) { tl_buf_json_str(b, s, strlen(s)); }

static void jkey(tl_buf_t *b, const char *k) {
    jstr(b, k);
    tl_buf_append(b, ":", 1);
}

static void jnum(tl_buf_t *b, double v, int dec) {
    char t[40];
    tl_buf_append(b, t, (size_t)(put_fixed(t, v, dec) - t));
}

static void ju(tl_buf_t *b, uint64_t v) {
    char t[24];
    tl_buf_append(b, t, (size_t)(put_u(t, v) - t));
}

/* Writes b to the open file and clears it; b's own errors mean ENOMEM. */
static int jflush(gen_t *g, tl_buf_t *b) {
    if (b->len) w_write(&g->w, b->data, b->len);
    tl_buf_clear(b);
    return g->w.err;
}

static const char *REASONS[] = {"field_count", "bad_number",   "bad_time",     "time_too_old",
                                "time_future", "unknown_type", "unknown_channel", "negative_amount",
                                "missing_field", "bad_utf8",   "too_long",     "out_of_range",
                                "inconsistent", "bad_id",      "bad_value",    "negative_price",
                                "unknown_user"};
#define NREASON ((int)(sizeof REASONS / sizeof REASONS[0]))

static void reason_map(gen_t *g, tl_buf_t *b, int file) {
    tl_buf_append(b, "{", 1);
    int first = 1;
    for (int k = 0; k < NREASON; k++) {
        uint64_t n = 0;
        int used = 0;
        for (int d = 0; d < D_N; d++)
            if (!strcmp(DIRTY[d].reason, REASONS[k]) && (file < 0 || DIRTY[d].file == file))
                n += g->dirty_n[d], used = 1;
        if (!used) continue;
        if (!first) tl_buf_append(b, ",", 1);
        first = 0;
        jkey(b, REASONS[k]);
        ju(b, n);
    }
    tl_buf_append(b, "}", 1);
}

static int write_truth(gen_t *g) {
    int rc = w_open(g, "truth.json");
    if (rc) return rc;
    tl_buf_t b;
    tl_buf_init(&b);
    /* Reserved once: the head is a few KiB and the buffer is flushed every
     * 256 KiB (a user adds < 1 KiB), so no later append can fail. */
    if (tl_buf_reserve(&b, 1u << 20)) {
        w_abort(g);
        tl_errbuf_set(g->eb, "gen: out of memory writing truth.json");
        return TL_ENOMEM;
    }
    char t[32];
    tl_buf_append(&b, "{", 1);
    jkey(&b, "seed"), ju(&b, g->o.seed);
    tl_buf_append(&b, ",", 1), jkey(&b, "users"), ju(&b, g->o.users);
    tl_buf_append(&b, ",", 1), jkey(&b, "items"), ju(&b, g->o.items);
    tl_buf_append(&b, ",", 1), jkey(&b, "days"), ju(&b, g->o.days);
    iso_of(g->start_s, t);
    tl_buf_append(&b, ",", 1), jkey(&b, "start"), jstr(&b, t);
    iso_of(g->end_s, t);
    tl_buf_append(&b, ",", 1), jkey(&b, "end"), jstr(&b, t);
    iso_of(g->start_s + (int64_t)g->promo_day * DAY_S, t);
    t[10] = 0;
    tl_buf_append(&b, ",", 1), jkey(&b, "promo_day"), jstr(&b, t);
    tl_buf_append(&b, ",", 1), jkey(&b, "promo_traffic"), jnum(&b, 4.0, 1);
    tl_buf_append(&b, ",", 1), jkey(&b, "peak_hours_utc"), tl_buf_append(&b, "[20,21]", 7);
    tl_buf_append(&b, ",", 1), jkey(&b, "categories");
    tl_buf_append(&b, "[", 1);
    for (int c = 0; c < NCAT; c++) {
        if (c) tl_buf_append(&b, ",", 1);
        jstr(&b, CATS[c]);
    }
    tl_buf_append(&b, "],", 2), jkey(&b, "category_tree");
    tl_buf_append(&b, "{", 1);
    for (int c = 0; c < NCAT; c++) {
        if (c) tl_buf_append(&b, ",", 1);
        jkey(&b, CATS[c]);
        tl_buf_append(&b, "[", 1);
        int first = 1;
        for (int s = 0; s < NSUB; s++) {
            if (SUBS[s].top != c) continue;
            if (!first) tl_buf_append(&b, ",", 1);
            first = 0;
            jstr(&b, SUBS[s].name);
        }
        tl_buf_append(&b, "]", 1);
    }
    tl_buf_append(&b, "},", 2), jkey(&b, "counts");
    tl_buf_append(&b, "{", 1);
    jkey(&b, "users"), ju(&b, g->st.users);
    tl_buf_append(&b, ",", 1), jkey(&b, "items"), ju(&b, g->st.items);
    tl_buf_append(&b, ",", 1), jkey(&b, "products"), ju(&b, g->st.products);
    tl_buf_append(&b, ",", 1), jkey(&b, "credit"), ju(&b, g->st.credit);
    tl_buf_append(&b, ",", 1), jkey(&b, "consents"), ju(&b, g->st.consents);
    tl_buf_append(&b, ",", 1), jkey(&b, "events"), ju(&b, g->st.events);
    tl_buf_append(&b, ",", 1), jkey(&b, "dirty"), ju(&b, g->st.dirty);
    tl_buf_append(&b, ",", 1), jkey(&b, "duplicates"), ju(&b, g->n_dup);
    tl_buf_append(&b, "},", 2), jkey(&b, "event_types");
    tl_buf_append(&b, "{", 1);
    for (int k = 0; k < NEVTYPE; k++) {
        if (k == EV_IDENTIFY && !g->ids) continue;
        if (k) tl_buf_append(&b, ",", 1);
        jkey(&b, EV_NAMES[k]), ju(&b, g->type_n[k]);
    }
    tl_buf_append(&b, "},", 2), jkey(&b, "dirty"), reason_map(g, &b, -1);
    tl_buf_append(&b, ",", 1), jkey(&b, "dirty_by_file");
    tl_buf_append(&b, "{", 1);
    for (int f = 0; f < NFILE; f++) {
        if (f) tl_buf_append(&b, ",", 1);
        jkey(&b, FILE_NAMES[f]), reason_map(g, &b, f);
    }
    tl_buf_append(&b, "},", 2), jkey(&b, "dirty_kinds");
    tl_buf_append(&b, "{", 1);
    for (int d = 0; d < D_N; d++) {
        char k[96];
        snprintf(k, sizeof k, "%.*s/%s", (int)(strlen(FILE_NAMES[DIRTY[d].file]) - 4),
                 FILE_NAMES[DIRTY[d].file], DIRTY[d].kind);
        if (d) tl_buf_append(&b, ",", 1);
        jkey(&b, k), ju(&b, g->dirty_n[d]);
    }
    tl_buf_append(&b, "},", 2), jkey(&b, "duplicates"), ju(&b, g->n_dup);
    tl_buf_append(&b, ",", 1), jkey(&b, "events"), ju(&b, g->st.events);
    tl_buf_append(&b, ",", 1), jkey(&b, "campaigns");
    tl_buf_append(&b, "{", 1);
    jkey(&b, "holdout_share"), jnum(&b, HOLDOUT_SHARE, 3);
    tl_buf_append(&b, ",", 1), jkey(&b, "send_prob"), jnum(&b, SEND_P, 3);
    tl_buf_append(&b, ",", 1), jkey(&b, "send_prob_promo"), jnum(&b, SEND_P_PROMO, 3);
    tl_buf_append(&b, ",", 1), jkey(&b, "send_prob_before_promo"), jnum(&b, SEND_P_PRE, 3);
    tl_buf_append(&b, ",", 1), jkey(&b, "consent_purpose");
    tl_buf_append(&b, "{", 1);
    for (int m = 0; m < NMSG; m++) {
        if (m) tl_buf_append(&b, ",", 1);
        jkey(&b, MSG_NAMES[m]), jstr(&b, PURPOSES[MSG_PURPOSE[m]]);
    }
    tl_buf_append(&b, "}},", 3);
    if (g->ids) {
        jkey(&b, "identities");
        tl_buf_append(&b, "{", 1);
        jkey(&b, "file"), jstr(&b, "identities.truth");
        tl_buf_append(&b, ",", 1), jkey(&b, "persons"), ju(&b, g->ids_n.persons);
        tl_buf_append(&b, ",", 1), jkey(&b, "identifiers"), ju(&b, g->ids_n.identifiers);
        tl_buf_append(&b, ",", 1), jkey(&b, "links"), ju(&b, g->ids_n.links);
        tl_buf_append(&b, ",", 1), jkey(&b, "unlinked"), ju(&b, g->ids_n.unlinked);
        tl_buf_append(&b, ",", 1), jkey(&b, "shared_devices"), ju(&b, g->ids_n.shared);
        tl_buf_append(&b, "},", 2);
    }
    jkey(&b, "user_truth");
    tl_buf_append(&b, "[\n", 2);
    for (uint32_t i = 0; i < g->o.users && !rc; i++) {
        const guser_t *U = &g->users[i];
        char id[16], *p = id;
        *p++ = 'u';
        *put_upad(p, (uint64_t)i + 1, 6) = 0;
        tl_buf_append(&b, i ? ",\n{" : "{", i ? 3 : 1);
        jkey(&b, "user"), jstr(&b, id);
        tl_buf_append(&b, ",", 1), jkey(&b, "tastes");
        tl_buf_append(&b, "{", 1);
        double prev = 0;
        for (int c = 0; c < NCAT; c++) {
            if (c) tl_buf_append(&b, ",", 1);
            jkey(&b, CATS[c]), jnum(&b, U->taste[c] - prev, 4);
            prev = U->taste[c];
        }
        tl_buf_append(&b, "},", 2), jkey(&b, "price_sensitivity"), jnum(&b, U->sens, 4);
        tl_buf_append(&b, ",", 1), jkey(&b, "risk"), jnum(&b, U->risk, 5);
        tl_buf_append(&b, ",", 1), jkey(&b, "channel_response");
        tl_buf_append(&b, "{", 1);
        for (int m = 0; m < NMSG; m++) {
            if (m) tl_buf_append(&b, ",", 1);
            jkey(&b, MSG_NAMES[m]), jnum(&b, U->resp[m], 5);
        }
        tl_buf_append(&b, "},", 2), jkey(&b, "activity"), jnum(&b, U->act, 4);
        tl_buf_append(&b, ",", 1), jkey(&b, "holdout");
        if (U->flags & UF_HOLDOUT) tl_buf_append(&b, "true}", 5);
        else tl_buf_append(&b, "false}", 6);
        if (b.len > (1u << 18) && (rc = jflush(g, &b))) break;
    }
    if (!rc) {
        tl_buf_append(&b, "\n]}\n", 4);
        jflush(g, &b);
    }
    tl_buf_fini(&b);
    return w_close(g);
}

/* ---- setup and the public entry points ----------------------------------------- */

void tl_gen_opts_default(tl_gen_opts_t *o) {
    o->users = 1000;
    o->items = 500;
    o->days = 30;
    o->seed = 42;
    o->end_ms = tl_time_days_from_civil(2025, 11, 30) * TL_MS_PER_DAY;
    o->dirty_rate = 0.02;
    o->identifiers = 0;
}

/* mkdir -p */
static int make_dir(const char *path, tl_errbuf_t *eb) {
    size_t n = strlen(path);
    char *tmp = malloc(n + 1);
    if (!tmp) return TL_ENOMEM;
    memcpy(tmp, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (i < n && tmp[i] != '/') continue;
        char c = tmp[i];
        tmp[i] = 0;
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
            int e = errno;
            tl_errbuf_set(eb, "gen: cannot create directory %s: %s", tmp, strerror(e));
            free(tmp);
            return tl_err_from_errno(e);
        }
        tmp[i] = c;
    }
    free(tmp);
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        tl_errbuf_set(eb, "gen: %s is not a directory", path);
        return TL_EINVAL;
    }
    return 0;
}

static int check_opts(const tl_gen_opts_t *o, tl_errbuf_t *eb) {
    const int64_t lo = tl_time_days_from_civil(2000, 1, 1) * TL_MS_PER_DAY;
    const int64_t hi = tl_time_days_from_civil(2090, 1, 1) * TL_MS_PER_DAY;
    if (o->users < 1 || o->users > 50000000) {
        tl_errbuf_set(eb, "gen: users must be 1 .. 50000000 (got %u)", o->users);
        return TL_EINVAL;
    }
    if (o->items < 1 || o->items > 10000000) {
        tl_errbuf_set(eb, "gen: items must be 1 .. 10000000 (got %u)", o->items);
        return TL_EINVAL;
    }
    if (o->days < 1 || o->days > 3650) {
        tl_errbuf_set(eb, "gen: days must be 1 .. 3650 (got %u)", o->days);
        return TL_EINVAL;
    }
    if (!(o->dirty_rate >= 0 && o->dirty_rate <= 0.5)) {
        tl_errbuf_set(eb, "gen: dirty rate must be 0 .. 0.5 (got %g)", o->dirty_rate);
        return TL_EINVAL;
    }
    if (!(o->identifiers == 0 || (o->identifiers >= 1 && o->identifiers <= 10))) {
        tl_errbuf_set(eb, "gen: identifiers a person must be 0 (off) or 1 .. 10 (got %g)",
                      o->identifiers);
        return TL_EINVAL;
    }
    if (o->end_ms % 1000 != 0 || o->end_ms > hi || o->end_ms - (int64_t)o->days * TL_MS_PER_DAY < lo) {
        tl_errbuf_set(eb, "gen: the period must lie within 2000-01-01 .. 2090-01-01 and end on a "
                          "whole second");
        return TL_EINVAL;
    }
    return 0;
}

static int gen_setup(gen_t *g) {
    g->end_s = g->o.end_ms / 1000;
    g->start_s = g->end_s - (int64_t)g->o.days * DAY_S;
    char t[32];
    iso_of(g->end_s - 1, t);
    g->end_year = atoi(t);
    g->promo_day = (int)(g->o.days * 7 / 10);
    g->iso_day = INT64_MIN;
    for (int i = 0; i < NCITY; i++) g->city_len[i] = (uint8_t)strlen(CITIES[i].name);
    for (int i = 0; i < NEVTYPE; i++) g->type_len[i] = (uint8_t)strlen(EV_NAMES[i]);
    for (int i = 0; i < NCHAN; i++) g->chan_len[i] = (uint8_t)strlen(CH_NAMES[i]);

    double w[NCITY > NOCC ? NCITY : NOCC];
    for (int i = 0; i < NCITY; i++) w[i] = 1.0 / pow(i + 1.0, 0.9);
    cum_init(g->city_cum, w, NCITY);
    cum_init(g->hour_cum, HOUR_W, 24);
    for (int i = 0; i < NOCC; i++) w[i] = OCCS[i].w;
    cum_init(g->occ_cum, w, NOCC - 2); /* students and retirees come by age */
    for (int i = NOCC - 2; i < NOCC; i++) g->occ_cum[i] = 1.0;
    cum_init(g->edu_cum, EDU_W, NEDU);
    cum_init(g->dom_cum, EMAIL_W, NDOMAIN);
    for (int b = 0; b < 3; b++) cum_init(g->ch_cum[b], CH_W[b], NCHAN);
    cum_init(g->brand_cum, BRAND_W, NBRAND);

    /* Personal fields are unique by construction: index -> bijection. */
    uint64_t need = (uint64_t)g->o.users * 2;
    g->name_syl = 2;
    g->name_space = NSURNAME * NSYL * NSYL;
    if (g->name_space < need) g->name_syl = 3, g->name_space *= NSYL;
    uint64_t s = g->o.seed;
    g->name_mul = coprime_mul(g->name_space, s ^ 0x11);
    g->name_add = mix64(s ^ 0x12) % g->name_space;
    g->phone_mul = coprime_mul(100000000u, s ^ 0x13);
    g->phone_add = mix64(s ^ 0x14) % 100000000u;
    g->mail_space = 10000; /* e-mail numbers: about ten times as many as needed */
    while (g->mail_space < need * 5) g->mail_space *= 10;
    g->mail_mul = coprime_mul(g->mail_space, s ^ 0x15);
    g->mail_add = mix64(s ^ 0x16) % g->mail_space;

    /* search queries: three keywords and five "brand keyword" per subcategory */
    size_t cap = 0;
    for (int i = 0; i < NSUB; i++) {
        for (int k = 0; k < 3; k++) cap += strlen(SUBS[i].kw[k]);
        for (int k = 0; k < NBRAND; k++) cap += strlen(BRANDS[SUBS[i].top][k]) + 1 + strlen(SUBS[i].kw[0]);
    }
    g->qarena = malloc(cap + 1);
    g->users = calloc(g->o.users, sizeof *g->users);
    if (!g->qarena || !g->users) {
        tl_errbuf_set(g->eb, "gen: out of memory for %u users", g->o.users);
        return TL_ENOMEM;
    }
    uint32_t off = 0;
    int q = 0;
    for (int i = 0; i < NSUB; i++) {
        for (int k = 0; k < 3; k++) {
            g->qoff[q++] = off;
            size_t n = strlen(SUBS[i].kw[k]);
            memcpy(g->qarena + off, SUBS[i].kw[k], n);
            off += (uint32_t)n;
        }
        for (int k = 0; k < NBRAND; k++) {
            g->qoff[q++] = off;
            off += (uint32_t)sprintf(g->qarena + off, "%s %s", BRANDS[SUBS[i].top][k], SUBS[i].kw[0]);
        }
    }
    g->qoff[q] = off;
    g->nq = q;
    return 0;
}

static void gen_free(gen_t *g) {
    w_abort(g);
    free(g->users);
    free(g->hot);
    free(g->items);
    free(g->alias);
    free(g->qarena);
    free(g->ev);
    free(g->order);
    free(g->cnt);
    tl__gen_ids_free(g->ids);
}

int tl_gen_run(const tl_gen_opts_t *o, const char *outdir, tl_gen_stats_t *out, tl_errbuf_t *eb) {
    if (!o || !outdir || !*outdir) {
        tl_errbuf_set(eb, "gen: options and an output directory are required");
        return TL_EINVAL;
    }
    int rc = check_opts(o, eb);
    if (rc) return rc;
    if ((rc = make_dir(outdir, eb))) return rc;
    gen_t *g = calloc(1, sizeof *g);
    if (!g) {
        tl_errbuf_set(eb, "gen: out of memory");
        return TL_ENOMEM;
    }
    g->o = *o;
    g->eb = eb;
    g->dir = outdir;
    if (!(rc = gen_setup(g)) && !(rc = write_users(g)) && !(rc = build_items(g)) &&
        !(rc = write_items(g)) && !(rc = write_products(g)) && !(rc = write_credit(g)) &&
        !(rc = write_consents(g)) && !(g->o.identifiers > 0 && (rc = ids_setup(g))) &&
        !(rc = write_events(g)) && !(g->ids && (rc = write_identities(g))))
        rc = write_truth(g);
    if (!rc && out) *out = g->st;
    gen_free(g);
    free(g);
    return rc;
}
