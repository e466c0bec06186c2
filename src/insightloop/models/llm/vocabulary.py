"""Words the rule-based provider knows: country names and adjectives (English and Chinese),
RFM segment names in Chinese, value-tier words and the label of each column."""

from __future__ import annotations

#: lower-case word -> the English country name the warehouse holds (matched to the live
#: catalogue's spelling case-insensitively). ``*abroad*`` means "not the home country".
COUNTRY_ALIASES: dict[str, str] = {
    "uk": "United Kingdom", "u.k.": "United Kingdom", "britain": "United Kingdom",
    "great britain": "United Kingdom", "british": "United Kingdom", "england": "United Kingdom",
    "english": "United Kingdom", "united kingdom": "United Kingdom", "英国": "United Kingdom",
    "french": "France", "法国": "France", "german": "Germany", "德国": "Germany",
    "portuguese": "Portugal", "葡萄牙": "Portugal", "polish": "Poland", "波兰": "Poland",
    "belgian": "Belgium", "比利时": "Belgium", "swiss": "Switzerland", "瑞士": "Switzerland",
    "danish": "Denmark", "丹麦": "Denmark", "brazilian": "Brazil", "巴西": "Brazil",
    "spanish": "Spain", "西班牙": "Spain", "australian": "Australia", "澳大利亚": "Australia",
    "澳洲": "Australia", "japanese": "Japan", "日本": "Japan", "dutch": "Netherlands",
    "holland": "Netherlands", "the netherlands": "Netherlands", "荷兰": "Netherlands",
    "israeli": "Israel", "以色列": "Israel", "italian": "Italy", "意大利": "Italy",
    "irish": "EIRE", "ireland": "EIRE", "爱尔兰": "EIRE", "norwegian": "Norway",
    "挪威": "Norway", "swedish": "Sweden", "瑞典": "Sweden", "finnish": "Finland",
    "芬兰": "Finland", "austrian": "Austria", "奥地利": "Austria", "greek": "Greece",
    "希腊": "Greece", "cypriot": "Cyprus", "塞浦路斯": "Cyprus", "american": "USA",
    "united states": "USA", "美国": "USA", "canadian": "Canada", "加拿大": "Canada",
    "singapore": "Singapore", "新加坡": "Singapore", "海峡群岛": "Channel Islands",
    "欧洲共同体": "European Community", "欧共体": "European Community",
    "overseas": "*abroad*", "international": "*abroad*", "abroad": "*abroad*",
    "foreign": "*abroad*", "海外": "*abroad*", "国外": "*abroad*", "境外": "*abroad*",
}
#: The home country (``*abroad*`` is "not this one"): the bundled sample's.
HOME_COUNTRY = "United Kingdom"

#: Chinese (and English synonyms) -> RFM segment name of the warehouse.
SEGMENT_ALIASES: dict[str, str] = {
    "冠军": "champions", "核心客户": "champions", "忠诚": "loyal", "忠实": "loyal",
    "潜在忠诚": "potential loyalist", "休眠": "hibernating", "沉睡": "hibernating",
    "已流失": "lost", "流失客户": "lost", "流失的客户": "lost", "即将沉睡": "about to sleep",
    "快要沉睡": "about to sleep", "需要关注": "need attention", "有潜力": "promising",
    "不能失去": "cannot lose them", "新客户": "new customers", "新客": "new customers",
    "lapsed champions": "cannot lose them", "sleeping": "hibernating",
}

#: words -> value tier.
TIER_WORDS: dict[str, str] = {
    "vip": "high", "vips": "high", "high-value": "high", "high value": "high",
    "most valuable": "high", "top-tier": "high", "top tier": "high", "高价值": "high",
    "贵宾": "high", "大客户": "high", "重要客户": "high", "low-value": "low",
    "low value": "low", "低价值": "low", "medium-value": "medium", "medium value": "medium",
    "mid-value": "medium", "mid value": "medium", "中等价值": "medium", "中价值": "medium",
}

#: column -> (English, Chinese) label for explanations.
LABELS: dict[str, tuple[str, str]] = {
    "recency_days": ("days since the last order", "距上次购买天数"),
    "tenure_days": ("days since the first order", "成为客户的天数"),
    "monetary": ("total spend", "累计消费"),
    "avg_order_value": ("average order value", "客单价"),
    "n_orders": ("number of orders", "订单数"),
    "n_returns": ("number of returns", "退货次数"),
    "return_rate": ("return rate", "退货率"),
    "churn_score": ("churn risk score", "流失风险分"),
    "clv_p_alive": ("probability still active", "仍活跃概率"),
    "clv": ("predicted lifetime value", "预测终身价值"),
    "value_tier": ("value tier", "价值等级"),
    "rfm_segment": ("RFM segment", "RFM 分群"),
    "country": ("country", "国家"),
}
